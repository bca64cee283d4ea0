/**
 * A small SMTP client (RFC 5321) over any TcpConnect: greeting, EHLO, STARTTLS (RFC 3207) or
 * implicit TLS, AUTH PLAIN or LOGIN (RFC 4954), MAIL/RCPT/DATA with dot-stuffing, QUIT.
 * Replies 4xx are transient (503, QStash retries), 5xx permanent (489), a lost or silent
 * connection transient. A recipient refused for good is named in the answer and the others get
 * the mail; one to try later holds its transaction for the retry, and a failure after some
 * transactions went through names their recipients so the retry skips them (docs/notifications.md, Email). Written here rather than taken from nodemailer, which does not run on
 * Workers and has had TLS trouble on Bun and Deno; this one runs on all three.
 */
import { base64Of } from "../../../base64.ts";
import { JobError, permanent, transient } from "../../../errors.ts";
import { maskCredentials } from "../../../mask.ts";
import type { TcpConnect, TcpSocket } from "../../../ports.ts";
import { within } from "../../../within.ts";

export interface SmtpOptions {
  host: string;
  port: number;
  secure: "tls" | "starttls" | "none";
  user?: string;
  pass?: string;
  ca?: string;
  rejectUnauthorized: boolean;
  timeoutMs: number;
  /** The name sent with EHLO. */
  helo: string;
}

export interface Envelope {
  from: string;
  to: string[];
  /** Recipients an earlier attempt mailed (a retry's): the page reached someone already. */
  sentBefore?: number;
}

interface Reply {
  code: number;
  lines: string[];
}

const enc = new TextEncoder();
const LATE = Symbol("late");

/** A reply as an error: 4xx transient, 5xx permanent (auth failures named as such). */
function replyError(step: string, r: Reply, host: string): JobError {
  const text = `${r.code} ${r.lines.join(" ")}`.slice(0, 300);
  const what = `SMTP ${host}: ${step} answered ${text}`;
  const details = { smtp_code: r.code, step, reply: text };
  if (r.code >= 400 && r.code < 500) return transient("channel_unavailable", what, undefined, details);
  return permanent(step === "AUTH" ? "channel_auth_failed" : "channel_rejected", what, details);
}

class Conversation {
  private buf = "";
  private reader: ReadableStreamDefaultReader<Uint8Array>;
  private writer: WritableStreamDefaultWriter<Uint8Array>;
  private readonly dec = new TextDecoder();
  /** Masked in every line read, before any is cut short: a cut credential would not match. */
  private readonly sent: string[];

  constructor(
    private sock: TcpSocket,
    private readonly o: SmtpOptions,
  ) {
    this.reader = sock.readable.getReader();
    this.writer = sock.writable.getWriter();
    this.sent = credentialsSent(o);
  }

  private async readLine(): Promise<string> {
    for (;;) {
      const i = this.buf.indexOf("\n");
      if (i >= 0) {
        const line = this.buf.slice(0, i).replace(/\r$/, "");
        this.buf = this.buf.slice(i + 1);
        return maskCredentials(line, this.sent);
      }
      const { done, value } = await this.reader.read();
      if (done)
        throw transient("channel_unavailable", `SMTP ${this.o.host}: the server closed the connection`);
      this.buf += this.dec.decode(value, { stream: true });
    }
  }

  /** One reply (multi-line "250-…" until "250 …"), bounded by the timeout. */
  async reply(timeoutMs = this.o.timeoutMs): Promise<Reply> {
    let timer: ReturnType<typeof setTimeout> | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () =>
          reject(transient("channel_unavailable", `SMTP ${this.o.host}: no answer within ${timeoutMs} ms`)),
        timeoutMs,
      );
    });
    try {
      return await Promise.race([this.readReply(), timeout]);
    } finally {
      clearTimeout(timer);
    }
  }

  private async readReply(): Promise<Reply> {
    const lines: string[] = [];
    for (;;) {
      const line = await this.readLine();
      const m = /^(\d{3})([ -]?)(.*)$/.exec(line);
      if (!m)
        throw transient(
          "channel_unavailable",
          `SMTP ${this.o.host}: unreadable reply "${line.slice(0, 80)}"`,
        );
      lines.push(m[3]);
      if (m[2] !== "-") return { code: Number(m[1]), lines };
    }
  }

  async send(line: string): Promise<void> {
    await this.writer.write(enc.encode(`${line}\r\n`));
  }

  /** Sends a command and expects a reply class (2 = 2xx, 3 = 3xx). */
  async command(line: string, step: string, expect = 2): Promise<Reply> {
    await this.send(line);
    const r = await this.reply();
    if (Math.floor(r.code / 100) !== expect) throw replyError(step, r, this.o.host);
    return r;
  }

  async upgrade(): Promise<void> {
    this.reader.releaseLock();
    this.writer.releaseLock();
    // The handshake is bounded like every reply: a peer silent after "220 Ready to start TLS"
    // (a middlebox dropping the ClientHello) must not hold the job and its lease for ever.
    const upgrading = this.sock.startTls();
    const tls = await within(upgrading, this.o.timeoutMs, LATE);
    if (tls === LATE) {
      upgrading.then((s) => s.close()).catch(() => {});
      throw transient(
        "channel_unavailable",
        `SMTP ${this.o.host}: no TLS handshake within ${this.o.timeoutMs} ms`,
      );
    }
    this.sock = tls;
    this.reader = this.sock.readable.getReader();
    this.writer = this.sock.writable.getWriter();
    this.buf = "";
  }

  async close(): Promise<void> {
    try {
      this.reader.releaseLock();
      this.writer.releaseLock();
    } catch {
      // already released
    }
    await this.sock.close();
  }
}

/** How long the answer to the final "." of DATA may take (RFC 5321 §4.5.3.2.6). */
const DATA_END_MS = 10 * 60_000;

/**
 * RCPT TO for each of `to` in turn, until the server says it takes no more in this transaction
 * (452, or 552 "too many recipients" from older servers): those are `rest`. Refusals go to `refused`.
 */
async function recipients(
  c: Conversation,
  to: string[],
  refused: { rcpt: string; reply: Reply }[],
  wire: (address: string) => string | undefined,
): Promise<{ accepted: string[]; rest: string[] }> {
  const accepted: string[] = [];
  for (let i = 0; i < to.length; i++) {
    const sendable = wire(to[i]);
    if (sendable === undefined) {
      refused.push({ rcpt: to[i], reply: { code: 553, lines: [NOT_ASCII] } });
      continue;
    }
    await c.send(`RCPT TO:<${sendable}>`);
    const r = await c.reply();
    if (r.code < 300) accepted.push(to[i]);
    else if (
      accepted.length &&
      (r.code === 452 || (r.code === 552 && /too many recipients/i.test(r.lines.join(" "))))
    )
      return { accepted, rest: to.slice(i) };
    else refused.push({ rcpt: to[i], reply: r });
  }
  return { accepted, rest: [] };
}

const NOT_ASCII = "not sent: its local part is not ASCII and the server does not offer SMTPUTF8";

/** The address with its domain as punycode, or undefined when its local part is not ASCII. */
function asciiAddress(address: string): string | undefined {
  const at = address.lastIndexOf("@");
  const local = address.slice(0, at);
  const domain = address.slice(at + 1);
  if (/[^ -~]/.test(local)) return undefined;
  if (!/[^ -~]/.test(domain)) return address;
  try {
    return `${local}@${new URL(`http://${domain}`).hostname}`;
  } catch {
    return undefined;
  }
}

const describe = (r: { rcpt: string; reply: Reply }) =>
  `${r.rcpt}: ${r.reply.code} ${r.reply.lines.join(" ")}`.slice(0, 200);

/**
 * Recipients the mail did not reach: transient when some may take it later (4xx), else permanent
 * (every one refused), naming each.
 */
function refusal(
  host: string,
  refused: { rcpt: string; reply: Reply }[],
  later: boolean,
  someSent = false,
): JobError {
  const each = refused.map(describe);
  if (!each.length) return permanent("channel_rejected", `SMTP ${host}: no recipient to send to`);
  const what = later
    ? `SMTP ${host}: RCPT TO asked to try again later for ${each.join("; ")}${someSent ? "" : "; nothing was sent"}`
    : `SMTP ${host}: RCPT TO refused every recipient: ${each.join("; ")}`;
  const details = { step: "RCPT TO", smtp_code: refused[0].reply.code, refused: each };
  return later
    ? transient("channel_unavailable", what, undefined, details)
    : permanent("channel_rejected", what, details);
}

/** Dot-stuffing (RFC 5321 §4.5.2): a line starting with "." gets another. */
export function dotStuff(message: string): string {
  return message.replace(/\r?\n/g, "\r\n").replace(/^\./gm, "..");
}

function capabilities(r: Reply): Set<string> {
  return new Set(r.lines.slice(1).map((l) => l.toUpperCase()));
}

/** The EHLO `SIZE n` limit: 0 when it names none, undefined when the server has no SIZE extension. */
function sizeLimit(caps: Set<string>): number | undefined {
  for (const l of caps) {
    const m = /^SIZE(?:\s+(\d+))?$/.exec(l);
    if (m) return Number(m[1] ?? 0);
  }
  return undefined;
}

async function login(c: Conversation, caps: Set<string>, o: SmtpOptions): Promise<void> {
  const auth = [...caps].find((l) => l.startsWith("AUTH ") || l.startsWith("AUTH="))?.slice(5) ?? "";
  const methods = new Set(auth.split(/\s+/));
  if (methods.has("PLAIN")) {
    await c.command(`AUTH PLAIN ${base64Of(`\0${o.user}\0${o.pass ?? ""}`)}`, "AUTH");
  } else if (methods.has("LOGIN")) {
    await c.command("AUTH LOGIN", "AUTH", 3);
    await c.command(base64Of(o.user ?? ""), "AUTH", 3);
    await c.command(base64Of(o.pass ?? ""), "AUTH");
  } else {
    throw permanent(
      "channel_auth_failed",
      `SMTP ${o.host}: the server offers no AUTH PLAIN or LOGIN${o.secure === "none" ? " (it may want TLS first: secure: starttls)" : ""}`,
    );
  }
}

/**
 * An error of the connection or conversation as a JobError: a certificate the worker does not
 * trust, or TLS spoken to a server that answers in plain text (`secure: tls` on port 587 or 25),
 * will not fix itself (permanent); the rest is transient.
 */
function asJobError(e: unknown, o: SmtpOptions, what = ""): JobError {
  if ((e as JobError)?.name === "JobError") return e as JobError;
  const msg = (e as Error)?.message ?? String(e);
  const cert = /certificate|self[- ]signed|unable to verify|CERT_|not trusted/i.test(msg);
  const plain = /wrong[_ ]version[_ ]number|unknown protocol|packet length too long/i.test(msg);
  const text = `SMTP ${o.host}:${o.port}: ${what}${msg}`;
  if (plain)
    return permanent(
      "channel_rejected",
      `${text} (the server does not speak TLS on connect: use secure: starttls, or the port for implicit TLS, usually 465)`,
    );
  return cert ? permanent("channel_rejected", text) : transient("channel_unavailable", text);
}

/**
 * A failure after some transactions went through names their recipients (`details.sent_to`): the
 * delivery keeps them, and the retry mails only the others (docs/notifications.md, Email).
 */
function withSentTo(e: JobError, sent: string[]): JobError {
  if (!sent.length) return e;
  return withDetails(e, { sent_to: sent }, ` (after ${sent.length} recipient(s) had it)`);
}

/**
 * A server's reply may quote what it was sent — the AUTH argument (base64 of user and password),
 * the password: masked like an HTTP peer's quote of our request (README, "Security").
 */
function withoutCredentials(e: JobError, o: SmtpOptions): JobError {
  if (!o.pass) return e;
  const sent = credentialsSent(o);
  return remade(e, maskCredentials(e.message, sent), maskCredentials(e.details, sent));
}

/** What AUTH sends that a reply may quote: its PLAIN argument, the password, its base64. */
function credentialsSent(o: SmtpOptions): string[] {
  if (!o.pass) return [];
  return [base64Of(`\0${o.user}\0${o.pass}`), base64Of(o.pass), o.pass].filter((c) => c.length >= 4);
}

function withDetails(e: JobError, more: Record<string, unknown>, said = ""): JobError {
  return remade(e, e.message + said, { ...(e.details as object | undefined), ...more });
}

/** The same failure with another message and details. */
function remade(e: JobError, message: string, details: unknown): JobError {
  return new JobError({ kind: e.kind, code: e.code, message, retryAfterS: e.retryAfterS, details });
}

/**
 * Delivers one message: the server's answers to DATA, and the recipients it refused for good.
 * A failure after some transactions went through says who has it (withSentTo).
 */
export async function sendMail(
  tcp: TcpConnect,
  o: SmtpOptions,
  env: Envelope,
  message: string,
): Promise<{ answer: string; refused: string[] }> {
  let sock: TcpSocket;
  let timer: ReturnType<typeof setTimeout> | undefined;
  let late = false;
  try {
    const opening = tcp({
      host: o.host,
      port: o.port,
      tls: o.secure === "tls" ? "on" : o.secure === "starttls" ? "starttls" : "off",
      servername: o.host,
      ca: o.ca,
      rejectUnauthorized: o.rejectUnauthorized,
    });
    // A connection that opens after the timeout is closed, not leaked.
    opening
      .then((s) => {
        if (late) void s.close();
      })
      .catch(() => {});
    sock = await Promise.race([
      opening,
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => {
          late = true;
          reject(new Error(`no connection within ${o.timeoutMs} ms`));
        }, o.timeoutMs);
      }),
    ]);
  } catch (e) {
    throw asJobError(e, o, "cannot connect: ");
  } finally {
    clearTimeout(timer);
  }
  const c = new Conversation(sock, o);
  const sent: string[] = [];
  try {
    const greeting = await c.reply();
    if (greeting.code !== 220) throw replyError("greeting", greeting, o.host);
    let caps = capabilities(await c.command(`EHLO ${o.helo}`, "EHLO"));
    if (o.secure === "starttls") {
      if (!caps.has("STARTTLS"))
        throw permanent("channel_rejected", `SMTP ${o.host}: the server does not offer STARTTLS`);
      await c.command("STARTTLS", "STARTTLS");
      await c.upgrade();
      caps = capabilities(await c.command(`EHLO ${o.helo}`, "EHLO"));
    }
    if (o.user) await login(c, caps, o);
    const utf8 = /[^ -~]/.test(env.from + env.to.join("")) && caps.has("SMTPUTF8") ? " SMTPUTF8" : "";
    // Without SMTPUTF8 (RFC 6531) the envelope must be ASCII: a Chinese domain goes as punycode; a
    // Chinese local part cannot go at all, and is refused by name rather than sent raw.
    const wire = caps.has("SMTPUTF8") ? (a: string) => a : asciiAddress;
    const from = wire(env.from);
    if (from === undefined)
      throw permanent(
        "channel_rejected",
        `SMTP ${o.host}: the sender ${env.from} is not ASCII and the server does not offer SMTPUTF8`,
      );
    // RFC 1870: a server that names its limit hears the size first, and refuses before the upload.
    const bytes = enc.encode(message).length;
    const max = sizeLimit(caps);
    if (max && bytes > max)
      throw permanent(
        "message_too_large",
        `SMTP ${o.host}: the mail is ${bytes} bytes and the server takes at most ${max} (its EHLO SIZE)`,
        { step: "MAIL FROM", bytes, limit: max },
      );
    const size = max !== undefined ? ` SIZE=${bytes}` : "";
    const refused: { rcpt: string; reply: Reply }[] = [];
    const answers: string[] = [];
    // One transaction per batch of recipients the server takes at once (RFC 5321 §4.5.3.1.10:
    // past its limit a server answers 452 and the rest go in another transaction).
    for (let rest = env.to; rest.length; ) {
      await c.command(`MAIL FROM:<${from}>${size}${utf8}`, "MAIL FROM");
      const batch = await recipients(c, rest, refused, wire);
      rest = batch.rest;
      if (!batch.accepted.length) {
        await c.send("RSET").catch(() => {});
        break;
      }
      await c.command("DATA", "DATA", 3);
      await c.send(`${dotStuff(message).replace(/\r\n$/, "")}\r\n.`);
      // RFC 5321 §4.5.3.2.6: the answer to the final dot may take 10 minutes (content filters). A
      // client that gives up sooner sends the mail again on the retry, which the server had taken.
      // No answer at all (closed, timed out) after the dot: the server may have queued it, so it
      // counts as maybe sent, as an HTTP timeout does (stages.ts keeps the state's claim).
      const done = await c.reply(Math.max(o.timeoutMs, DATA_END_MS)).catch((e) => {
        throw withDetails(asJobError(e, o), { maybe_sent: true });
      });
      if (done.code !== 250) throw replyError("DATA", done, o.host);
      sent.push(...batch.accepted);
      answers.push(`${done.code} ${done.lines.join(" ")}`);
    }
    // A recipient to try again later (greylisting, a full mailbox) does not hold the page from the
    // others: they have it now, and QStash's retry mails only who does not (sent_to).
    const waiting = refused.filter((r) => r.reply.code < 500);
    const before = env.sentBefore ?? 0;
    if (waiting.length) throw refusal(o.host, waiting, true, sent.length + before > 0);
    // Refused for good with nobody mailed: a failure — unless an earlier attempt mailed the
    // others (a greylisted recipient now refused): then the page is delivered, the refusal named.
    if (!sent.length && !before) throw refusal(o.host, refused, false);
    await c.send("QUIT").catch(() => {});
    const answer = answers.join("; ") || `250 sent earlier to ${before} recipient(s)`;
    return { answer, refused: refused.map(describe) };
  } catch (e) {
    throw withSentTo(withoutCredentials(asJobError(e, o), o), sent);
  } finally {
    await c.close().catch(() => {});
  }
}
