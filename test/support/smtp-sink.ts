/**
 * A real SMTP server for the email tests: `smtp-server` on 127.0.0.1 with implicit TLS (465
 * style) or STARTTLS (587 style), AUTH PLAIN/LOGIN required and refused before TLS, using a
 * throw-away self-signed certificate made with openssl for this run. Each received message is
 * parsed with `mailparser`, so tests check what a mail client would show.
 */
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type ParsedMail, simpleParser } from "mailparser";
import { SMTPServer } from "smtp-server";

export interface TestCert {
  key: string;
  cert: string;
}

/** A self-signed certificate for localhost and 127.0.0.1, valid one day. */
export function makeCert(): TestCert {
  const dir = mkdtempSync(join(tmpdir(), "alertagent-cert-"));
  try {
    const r = Bun.spawnSync([
      "openssl",
      "req",
      "-x509",
      "-newkey",
      "ec",
      "-pkeyopt",
      "ec_paramgen_curve:prime256v1",
      "-nodes",
      "-keyout",
      join(dir, "key.pem"),
      "-out",
      join(dir, "cert.pem"),
      "-days",
      "1",
      "-subj",
      "/CN=localhost",
      "-addext",
      "subjectAltName=DNS:localhost,IP:127.0.0.1",
    ]);
    if (r.exitCode !== 0) throw new Error(`openssl failed: ${r.stderr.toString()}`);
    return {
      key: readFileSync(join(dir, "key.pem"), "utf8"),
      cert: readFileSync(join(dir, "cert.pem"), "utf8"),
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

export interface Received {
  envelope: { from: string; to: string[] };
  user?: string;
  /** How the session was protected when the message came in. */
  secure: boolean;
  mail: ParsedMail;
  raw: string;
}

export interface SmtpSink {
  port: number;
  received: Received[];
  /** AUTH attempts: method and user, accepted or not. */
  auths: { method: string; user: string; ok: boolean }[];
  /** Answer this SMTP reply to the next DATA (e.g. "451 try later"), or to the one after `after` more. */
  failNextData?: { code: number; message: string; after?: number };
  /** A reply other than 250 to RCPT TO for an address (a 550 unknown user, a 451 greylisting). */
  refuse: Map<string, { code: number; message: string }>;
  /** Recipients accepted per transaction; past it `452 4.5.3 Error: too many recipients` (Postfix's smtpd_recipient_limit). */
  maxRecipients?: number;
  /** Time taken after the final "." before answering it (a content filter, Postfix's smtpd_end_of_data_restrictions). */
  dataDelayMs?: number;
  /**
   * Refuse AUTH quoting what was sent (the password and the AUTH PLAIN argument), as a careless
   * server may; a number puts that many characters of text before the quote (a long reply).
   */
  quoteAuth?: boolean | number;
  /** Take the next mail, then close the connection without answering its final "." (a crash, a cut link). */
  dropNextDataAnswer?: boolean;
  stop(): Promise<void>;
}

/** smtp-server's connection, as far as dropping one needs. */
type Connection = { id: string; _socket: { destroy(): void } };

export async function startSmtpSink(opts: {
  mode: "tls" | "starttls";
  cert: TestCert;
  users: Record<string, string>;
  /** The size limit named in EHLO (and enforced, as smtp-server does). @default 10 MiB */
  size?: number;
  /**
   * false: SMTPUTF8 is not offered, and a non-ASCII envelope address is refused (553 5.6.7), as
   * RFC 6531 §3.2 has a server without it do (the reply text is assumed).
   */
  smtputf8?: boolean;
}): Promise<SmtpSink> {
  const sink: SmtpSink = { port: 0, received: [], auths: [], refuse: new Map(), stop: async () => {} };
  const lastCommand = new Map<string, string>();
  const notAscii = (cid: string) => opts.smtputf8 === false && /[^ -~]/.test(lastCommand.get(cid) ?? "");
  const smtpError = (code: number, message: string) =>
    Object.assign(new Error(message), { responseCode: code });
  const server = new SMTPServer({
    secure: opts.mode === "tls",
    key: opts.cert.key,
    cert: opts.cert.cert,
    authMethods: ["PLAIN", "LOGIN"],
    authOptional: false,
    allowInsecureAuth: false,
    disabledCommands: [],
    size: opts.size ?? 10 * 1024 * 1024,
    hideSMTPUTF8: opts.smtputf8 === false,
    // smtp-server hands the handlers a punycode domain decoded to Unicode: what the client really
    // sent is read from its command log (the last command of each connection).
    logger: {
      debug: (meta: { cid?: string }, ...args: unknown[]) => {
        if (args[0] === "C:" && meta.cid) lastCommand.set(meta.cid, String(args[1]));
      },
      info: () => {},
      warn: () => {},
      error: () => {},
      trace: () => {},
      fatal: () => {},
    } as never,
    disableReverseLookup: true,
    onAuth(auth, _session, cb) {
      const ok = opts.users[auth.username ?? ""] === auth.password;
      sink.auths.push({ method: auth.method, user: auth.username ?? "", ok });
      if (sink.quoteAuth) {
        const plain = Buffer.from(`\0${auth.username}\0${auth.password}`).toString("base64");
        const pad = "see https://mail.example.com/help/".padEnd(Number(sink.quoteAuth), "a");
        return cb(new Error(`${pad} Invalid credentials ${plain} (password ${auth.password})`));
      }
      if (!ok) return cb(new Error("Invalid username or password"));
      cb(null, { user: auth.username });
    },
    onMailFrom(_address, session, cb) {
      if (notAscii(session.id)) return cb(smtpError(553, "5.6.7 Non-ASCII address without SMTPUTF8"));
      cb();
    },
    onRcptTo(address, session, cb) {
      if (notAscii(session.id)) return cb(smtpError(553, "5.6.7 Non-ASCII address without SMTPUTF8"));
      const r = sink.refuse.get(address.address);
      if (r) return cb(smtpError(r.code, r.message));
      if (sink.maxRecipients !== undefined && session.envelope.rcptTo.length >= sink.maxRecipients)
        return cb(smtpError(452, "4.5.3 Error: too many recipients"));
      cb();
    },
    onData(stream, session, cb) {
      const chunks: Buffer[] = [];
      stream.on("data", (c: Buffer) => chunks.push(c));
      stream.on("end", async () => {
        if (sink.dataDelayMs) await Bun.sleep(sink.dataDelayMs);
        const fail = sink.failNextData;
        if (fail?.after) fail.after--;
        else if (fail) {
          sink.failNextData = undefined;
          return cb(smtpError(fail.code, fail.message));
        }
        const raw = Buffer.concat(chunks).toString("utf8");
        sink.received.push({
          envelope: {
            from: (session.envelope.mailFrom as { address: string }).address,
            to: session.envelope.rcptTo.map((r) => r.address),
          },
          user: session.user as string | undefined,
          secure: session.secure,
          mail: await simpleParser(raw),
          raw,
        });
        if (sink.dropNextDataAnswer) {
          sink.dropNextDataAnswer = false;
          for (const c of (server as unknown as { connections: Set<Connection> }).connections)
            if (c.id === session.id) c._socket.destroy();
          return;
        }
        cb();
      });
    },
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => resolve());
  });
  sink.port = (server.server.address() as { port: number }).port;
  sink.stop = () => new Promise<void>((resolve) => server.close(() => resolve()));
  return sink;
}
