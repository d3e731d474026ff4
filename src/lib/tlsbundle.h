/* tlsbundle.h: the certificates' bytes for sluice-tlsrelay, and its
 * start, shared by sluice-tlsd (one per connection, under tcpserver)
 * and sluice-tlsgate (one child per STARTTLS, under a long-running
 * gate): neither links OpenSSL, both hand the same things to the relay.
 *
 * The bundle: control/tls/cert.pem and each control/tls/NAME.pem (NAME
 * an SNI host name), each as the record NAME NUL LENGTH NUL BYTES,
 * "cert" first. It is read relative to the working directory
 * (conf-home). Only the bytes are read: parsing waits for TLS to
 * start, in sluice-tlsrelay.
 *
 * The relay's interface (private to these programs): fd 0 and 1 the
 * client's connection, fd 3 the control socket (STARTTLS) or the pipe
 * for the details (implicit TLS), fd 4 the pipe to the application, fd
 * 5 the pipe from it, fd 6 a memory file (memfd) with the bundle, and
 * the arguments
 *     sluice-tlsrelay MODE PID TIMEOUT IDLE
 * MODE y or Y (the byte the application wrote) or i, PID the
 * application's process when it is the relay's child (sluice-tlsd),
 * else 0 (sluice-tlsgate: the relay waits for no one). */
#ifndef SLUICE_TLSBUNDLE_H
#define SLUICE_TLSBUNDLE_H

#include <stddef.h>

#include "str.h"

#define TLSBUNDLE_SNI_MAX 256          /* control/tls/NAME.pem files at most */
#define TLSBUNDLE_PEM_MAX (1UL << 20)  /* bytes of one certificate file */
#define TLSBUNDLE_FD 6                 /* the memory file, in the relay */

/* 1 when name[0..n) (a file name without .pem) may be an SNI host name:
 * letters, digits, hyphens, dots, no empty label, at most 253 bytes. */
int tlsbundle_sni_name_ok(const char *name, size_t n);

/* Appends to out the records of control/tls/cert.pem and of every
 * control/tls/NAME.pem (at most TLSBUNDLE_SNI_MAX). Returns the number
 * of NAME.pem files that could not be read (skipped), or -1 with errno
 * when cert.pem cannot be read (ENOENT: it is missing) or memory ran
 * out (ENOMEM). The file bytes are wiped from every buffer but out. */
int tlsbundle_read(str *out);

/* Overwrites n bytes so that the compiler cannot drop the stores. */
void tlsbundle_wipe(char *s, size_t n);

/* Becomes sluice-tlsrelay (the program at path): the bundle into a
 * memory file (then wiped and freed), ctl, toapp, fromapp and the
 * memory file on fd 3, 4, 5, 6 without close-on-exec, the arguments
 * MODE PID TIMEOUT IDLE, exec. fd 0 and 1 must be the connection
 * already. Returns only on failure: -1 with errno, *what naming the
 * step that failed. */
int tlsbundle_exec_relay(const char *path, char mode, unsigned long pid, unsigned long timeout, unsigned long idle,
                         int ctl, int toapp, int fromapp, str *bundle, const char **what);

#endif
