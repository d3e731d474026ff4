/* smtpd_text.c: see smtpd_text.h. */
#include <sys/wait.h>

#include "byte.h"
#include "date.h"
#include "smtpd_cmd.h"
#include "smtpd_text.h"

int smtpd_qq_ok(int wait_status)
{
  return WIFEXITED(wait_status) && WEXITSTATUS(wait_status) == 0;
}

/* The text for an exit code of the injector, without the reply code. */
static const char *qq_text(int code)
{
  switch (code) {
  case 11: return "5.1.3 envelope address too long for the queue";
  case 31: return "5.3.0 message refused permanently by the mail server";
  case 32: return "5.7.1 message refused: the sender domain's SPF or DMARC policy rejects it";
  case 51: return "4.3.0 qq out of memory";
  case 52: return "4.3.0 qq timeout";
  case 53: return "4.3.0 qq write error or disk full";
  case 54: return "4.3.0 qq read error";
  case 55: return "4.3.0 qq unable to read configuration";
  case 56: return "4.3.0 qq trouble making network connection";
  case 61: return "4.3.0 qq trouble in home directory";
  case 62: case 63: case 64: case 65: case 66: return "4.3.0 qq trouble creating files in queue";
  case 71: return "4.3.0 message refused temporarily by the mail server";
  case 72: return "4.4.1 connection to the mail server timed out";
  case 73: return "4.4.1 connection to the mail server refused";
  case 74: return "4.4.2 communication with the mail server failed";
  case 75: return "4.7.0 temporary DNS failure checking the sender's SPF, DKIM or DMARC";
  case 81: return "4.3.0 qq internal bug";
  case 91: return "4.3.0 qq envelope format error";
  default: break;
  }
  if (code >= 11 && code <= 40) return "5.3.0 qq permanent problem";
  return "4.3.0 qq temporary problem";
}

int smtpd_qq_reply(str *out, int wait_status, const char *id)
{
  int code;

  if (!WIFEXITED(wait_status)) return str_copys(out, "451 4.3.0 qq crashed");
  code = WEXITSTATUS(wait_status);
  if (code == 0) {
    if (str_copys(out, "250 2.0.0 ok ") < 0) return -1;
    return str_cats(out, id);
  }
  if (str_copys(out, code == 32 ? "550 " : code >= 11 && code <= 40 ? "554 " : "451 ") < 0) return -1;
  return str_cats(out, qq_text(code));
}

static int cat_name(str *out, const char *s, size_t n, int brackets)
{
  return smtpd_safe_cat(out, s, n, 255, brackets);
}

int smtpd_received_line(str *out, const struct smtpd_received *r)
{
  const char *ip = r->remote_ip ? r->remote_ip : "unknown";
  size_t iplen = byte_len(ip, 64);

  if (str_cats(out, "Received: from ") < 0) return -1;
  if (r->helo && r->helo_len) {
    if (cat_name(out, r->helo, r->helo_len, 1) < 0) return -1;
  } else if (str_cats(out, "unknown") < 0) {
    return -1;
  }
  if (str_cats(out, " (") < 0) return -1;
  if (r->remote_info && *r->remote_info) {
    if (cat_name(out, r->remote_info, byte_len(r->remote_info, 255), 0) < 0 || str_catc(out, '@') < 0) return -1;
  }
  if (r->remote_host && *r->remote_host) {
    if (cat_name(out, r->remote_host, byte_len(r->remote_host, 255), 0) < 0) return -1;
  } else if (str_cats(out, "unknown") < 0) {
    return -1;
  }
  if (str_cats(out, " [") < 0) return -1;
  if (byte_chr(ip, iplen, ':') < iplen && str_cats(out, "IPv6:") < 0) return -1;
  if (cat_name(out, ip, iplen, 0) < 0) return -1;
  if (str_cats(out, "])\n  by ") < 0) return -1;
  if (cat_name(out, r->local_host, byte_len(r->local_host, 255), 1) < 0) return -1;
  if (str_cats(out, " with ") < 0 || str_cats(out, r->protocol) < 0 || str_cats(out, "; ") < 0) return -1;
  if (date_rfc5322(out, r->when) < 0) return -1;
  return str_catc(out, '\n');
}
