/** Built-in catalogue: certificates (blackbox TLS probes, x509-certificate-exporter, cert-manager, Kubernetes clients). */
import { type Entry, t } from "./types.ts";

export const CERTIFICATES: Entry[] = [
  {
    names: [
      "SSLCertExpiringSoon",
      "BlackboxSslCertificateWillExpireSoon",
      "BlackboxSslCertificateExpired",
      "SslCertificateExpiringSoon",
      "SSLCertificateExpiry",
    ],
    family: "certificate",
    summary: t(
      "The TLS certificate served by {{instance}} expires soon",
      "{{instance}} 提供的 TLS 证书即将过期",
    ),
    keywords: /ssl|tls|cert|证书/i,
    causes: [
      {
        text: t(
          "Automatic renewal failed or is not set up (ACME challenge failing, renewal job not running)",
          "自动续期失败或未配置（ACME 验证失败、续期任务未运行）",
        ),
        confidence: 0.55,
        check: '(probe_ssl_earliest_cert_expiry{instance="{{instance}}"} - time()) / 86400',
      },
      {
        text: t(
          "The certificate was renewed but the server still serves the old one (not reloaded)",
          "证书已续期但服务仍在使用旧证书（未重新加载）",
        ),
        confidence: 0.3,
        check:
          "echo | openssl s_client -connect {{host}}:443 -servername {{host}} 2>/dev/null | openssl x509 -noout -enddate",
        hint: /renew|reload/i,
      },
    ],
    steps: [
      {
        text: t("See the expiry date actually served", "查看实际提供的证书到期时间"),
        command:
          "echo | openssl s_client -connect {{host}}:443 -servername {{host}} 2>/dev/null | openssl x509 -noout -subject -enddate",
        risk: "low",
      },
      {
        text: t("Renew the certificate", "续期证书"),
        command: "certbot renew --cert-name {{host}}",
        risk: "medium",
      },
      {
        text: t("Reload the server so it serves the new certificate", "重新加载服务以启用新证书"),
        command: "ssh {{host}} 'nginx -t && systemctl reload nginx'",
        risk: "medium",
      },
    ],
  },
  {
    names: [
      "X509CertificateExpiringSoon",
      "CertificateExpiration",
      "CertificateExpiringSoon",
      "X509CertificateExpired",
    ],
    family: "certificate",
    summary: t(
      "Certificate {{subject_CN}} ({{filepath}}{{secret_name}}) expires soon",
      "证书 {{subject_CN}}（{{filepath}}{{secret_name}}）即将过期",
    ),
    causes: [
      {
        text: t("A certificate file or secret that nothing renews", "没有任何机制续期的证书文件或 Secret"),
        confidence: 0.6,
        check: "(x509_cert_not_after - time()) / 86400 < 14",
      },
    ],
    steps: [
      {
        text: t("List certificates by days left", "按剩余天数列出证书"),
        command: "sort_desc(-(x509_cert_not_after - time()) / 86400)",
        risk: "low",
      },
      {
        text: t(
          "Renew it and put it under automatic renewal (cert-manager, certbot)",
          "续期证书，并纳入自动续期（cert-manager、certbot）",
        ),
        command: "",
        risk: "medium",
      },
    ],
  },
  {
    names: ["CertManagerCertExpirySoon", "CertManagerCertNotReady", "CertManagerHittingRateLimits"],
    family: "certificate",
    summary: t(
      "cert-manager certificate {{namespace}}/{{name}} is not being renewed",
      "cert-manager 证书 {{namespace}}/{{name}} 未能续期",
    ),
    keywords: /cert.?manager|acme/i,
    causes: [
      {
        text: t(
          "The ACME challenge fails (DNS record, ingress path /.well-known not reachable)",
          "ACME 验证失败（DNS 记录、Ingress 的 /.well-known 路径不可达）",
        ),
        confidence: 0.5,
        check: "kubectl -n {{namespace}} get challenges,orders",
        hint: /challenge|acme/i,
      },
      {
        text: t(
          "The issuer is not ready or is rate-limited by Let's Encrypt",
          "签发者未就绪或被 Let's Encrypt 限流",
        ),
        confidence: 0.3,
        check: "kubectl get clusterissuers,issuers -A",
        hint: /rate.?limit|issuer/i,
      },
    ],
    steps: [
      {
        text: t("See the certificate's status and events", "查看证书状态与事件"),
        command: "kubectl -n {{namespace}} describe certificate {{name}}",
        risk: "low",
      },
      {
        text: t("Fix the challenge, then force a renewal", "修复验证问题后强制续期"),
        command: "cmctl renew -n {{namespace}} {{name}}",
        risk: "low",
      },
    ],
  },
  {
    names: [
      "KubeClientCertificateExpiration",
      "KubeletClientCertificateExpiration",
      "KubeletServerCertificateExpiration",
    ],
    family: "certificate",
    summary: t(
      "A Kubernetes client or kubelet certificate expires soon",
      "Kubernetes 客户端或 kubelet 证书即将过期",
    ),
    causes: [
      {
        text: t(
          "Certificates were never rotated (kubeadm certificates last one year)",
          "证书从未轮换（kubeadm 证书有效期一年）",
        ),
        confidence: 0.6,
        check: "kubeadm certs check-expiration",
      },
    ],
    steps: [
      {
        text: t("See expiry of every control-plane certificate", "查看所有控制面证书的到期时间"),
        command: "kubeadm certs check-expiration",
        risk: "low",
      },
      {
        text: t("Renew them and restart the control-plane components", "续期证书并重启控制面组件"),
        command: "kubeadm certs renew all",
        risk: "high",
      },
    ],
  },
];
