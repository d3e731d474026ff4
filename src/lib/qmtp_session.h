/* qmtp_session.h: the netstring framing of a QMTP and a QMQP server
 * session (sluice-qmtpd(8), sluice-qmqpd(8)), read from a buf piece by
 * piece. The servers call these between their own steps (starting the
 * injector, the recipient policy, the replies); the fuzz target
 * fuzz_qmtpd runs the same calls on bytes from a buffer.
 *
 * A QMTP message is: qmtp_session_head (length and mode byte), the
 * program's decision to take or refuse the message, qmtp_session_body
 * (the text, streamed), qmtp_session_tail (comma, sender netstring,
 * recipient block netstring, whose items qmtp_list_next splits). A QMQP
 * request is qmqp_session_head, qmtp_session_body, then
 * qmqp_session_tail.
 *
 * Functions return what their comment says, or -1 with errno set as
 * qmtp_read_error() expects: EPROTO (a protocol violation, end of file
 * inside a request included), EMSGSIZE (a length over its bound),
 * ETIMEDOUT, ENOMEM, or what read reported. The caller owns every buf,
 * str and descriptor; nothing here writes to the client. */
#ifndef SLUICE_QMTP_SESSION_H
#define SLUICE_QMTP_SESSION_H

#include <stddef.h>

#include "buf.h"
#include "qmtp.h"
#include "str.h"

/* The start of one QMTP message: 1 with *len (the bytes of text after
 * the mode byte) and *mode; 0 at a clean end of input before it. */
int qmtp_session_head(buf *in, size_t *len, char *mode);

/* Reads len bytes of message text and writes them to msgfd (-1:
 * discard) in the queue's line form (lineform.h: CR LF becomes LF, a
 * bare CR a space), whatever a QMTP mode byte said. chunk is work
 * space. *stored grows by the bytes meant for msgfd (0 when
 * discarding); *write_failed becomes 1, and later writes are skipped,
 * once msgfd stops taking bytes. 0, or -1 on a read failure. */
int qmtp_session_body(buf *in, size_t len, int msgfd, str *chunk, unsigned long *stored, int *write_failed);

/* The end of a QMTP message after its text: the comma, the sender (at
 * most sender_max bytes) into *sender and the recipient block (at most
 * QMTP_TAIL_MAX bytes) into *rcptblock. 0 or -1. */
int qmtp_session_tail(buf *in, size_t sender_max, str *sender, str *rcptblock);

/* The start of a QMQP request: the outer length and the message's,
 * which must fit inside it with its comma, checked before any text is
 * read. 1 with *mlen (the text) and *tlen (the sender and recipients
 * after it, at most QMTP_TAIL_MAX); 0 at a clean end of input before
 * the first byte. */
int qmqp_session_head(buf *in, size_t *mlen, size_t *tlen);

/* The end of a QMQP request after the text: the comma, the tlen bytes
 * of sender and recipients into *tail, parsed by qmqp_tail_parse into
 * *t and *rcpts, then the outer comma. 0 or -1. */
int qmqp_session_tail(buf *in, size_t tlen, str *tail, struct qmqp_tail *t, str *rcpts);

#endif
