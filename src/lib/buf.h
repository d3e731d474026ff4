/* buf.h: buffered reads and writes on a file descriptor.
 *
 * A buf couples a descriptor with a caller-owned memory block; the buf
 * never allocates and never frees that block (nor closes the fd). A
 * given buf is used either for output or for input, never both.
 *
 * Output collects bytes in the block and writes them only when
 * buf_flush() is called or when the block is full; a put larger than
 * the whole block is written straight through after the pending bytes.
 * Input reads as much as the block holds and hands it out in pieces.
 *
 * Deadline: with buf_set_timeout(b, ms) non-zero, every underlying
 * read or write first waits with poll() for at most ms milliseconds
 * and fails with -1/ETIMEDOUT when nothing can be done by then, so a
 * peer that stalls cannot hang a server. That timeout is per system
 * call: a peer trickling one byte per ms-1 would keep an operation
 * alive for ever. So a buf also honours an absolute deadline
 * (buf_set_deadline, a time on deadline.h's monotonic clock): no read
 * or write waits past it, and once it has passed every underlying
 * read or write fails with ETIMEDOUT, even when bytes are ready.
 * Callers bound a whole command, message or session with it. With a
 * timeout or a deadline a socket is written with MSG_DONTWAIT and a
 * pipe or tty in chunks of at most PIPE_BUF bytes, so a write cannot
 * block past them. Bytes already buffered are handed out regardless.
 * EINTR is always retried; an O_NONBLOCK descriptor is waited for.
 *
 * Errors: -1 with errno set (ETIMEDOUT for a passed deadline, or what
 * read/write/poll reported). After an output error the bytes not yet
 * written stay pending in the block. */
#ifndef SLUICE_BUF_H
#define SLUICE_BUF_H

#include <stddef.h>
#include <sys/types.h>

#include "str.h"

typedef struct buf {
  char *mem;                /* caller's block */
  size_t size;              /* its size */
  size_t pos;               /* input: first unread byte */
  size_t len;               /* input: end of buffered bytes; output: pending bytes */
  int fd;
  int kind;                 /* how timed writes go: 0 unknown, 1 socket, 2 chunked, 3 plain */
  unsigned long timeout_ms; /* 0: no deadline */
  long long deadline;       /* absolute, deadline_now()'s clock; 0: none */
} buf;

/* Sets up b on fd with the block mem[0..size) (size may be 0: then
 * every put writes through and input cannot be buffered). */
void buf_init(buf *b, int fd, char *mem, size_t size);
/* Per-operation deadline in milliseconds; 0 turns it off. Values over
 * INT_MAX are treated as INT_MAX. */
void buf_set_timeout(buf *b, unsigned long ms);
/* Absolute deadline (deadline.h: deadline_now() + milliseconds), in
 * addition to the per-call timeout; 0 turns it off. A read or write
 * that fails because of it sets ETIMEDOUT; buf_expired then says 1. */
void buf_set_deadline(buf *b, long long at);
/* 1 when b has a deadline and it has passed, else 0. */
int buf_expired(const buf *b);

/* Output. Each returns 0 or -1. */
int buf_put(buf *b, const char *s, size_t n);
/* NUL-terminated s, without the NUL. */
int buf_puts(buf *b, const char *s);
int buf_putc(buf *b, char c);
/* Decimal form of u. */
int buf_putulong(buf *b, unsigned long u);
/* Writes every pending byte; on failure the unwritten ones stay. */
int buf_flush(buf *b);
/* buf_put then buf_flush. */
int buf_putflush(buf *b, const char *s, size_t n);

/* Input. */
/* Reads more into the block: returns the count read, 0 at end of file,
 * -1 on error (ENOBUFS when the block is already full of unread bytes). */
ssize_t buf_feed(buf *b);
/* The unread buffered bytes are buf_peek(b)[0..buf_avail(b)); the
 * pointer is valid until the next input call on b. */
size_t buf_avail(const buf *b);
char *buf_peek(const buf *b);
/* Consumes n buffered bytes (at most buf_avail(b)). */
void buf_seek(buf *b, size_t n);
/* Copies up to n bytes to s: returns the count (at least 1 when n > 0),
 * 0 at end of file (or when n is 0), -1 on error. A request of at least
 * the block size with nothing buffered reads straight into s. */
ssize_t buf_get(buf *b, char *s, size_t n);
/* Reads exactly n bytes into s (for netstrings and other length-prefixed
 * records): returns 1 when all n were read (also for n 0), 0 when end of
 * file came before the first byte, -1 on error, including end of file
 * after some but not all bytes (errno EPROTO). The bytes of a failed
 * call are consumed. */
int buf_read_exact(buf *b, char *s, size_t n);
/* Appends one line, up to and including delim, to *line. Returns 1 when
 * the line ended with delim; 0 at end of file, with the bytes of an
 * unterminated last line appended (compare line->len with its value
 * before the call to see them); -1 on error. When this call would append
 * more than max bytes (delim included), it appends exactly max bytes,
 * leaves the rest of the line unread in b and fails with E2BIG; a later
 * call continues with the rest. On other errors the bytes appended so
 * far stay in *line (ENOMEM leaves the unappended bytes in b). */
int buf_getline(buf *b, str *line, char delim, size_t max);
/* Copies everything from in to out until end of file on in. Does not
 * flush out. Returns 0 at end of file, -1 when reading in failed, -2 when
 * writing out failed (errno set in both cases). */
int buf_copy(buf *out, buf *in);

#endif
