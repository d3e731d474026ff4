/* sig.h: signal dispositions, the signal mask, and a self-pipe.
 *
 * Handlers are installed with sigaction and without SA_RESTART, so a
 * blocking system call returns EINTR and the caller notices the signal.
 * Each function returns 0 (or a descriptor / signal number) on success
 * and -1 with errno set on failure. Nothing here allocates.
 *
 * The self-pipe lets a daemon's poll() loop see signals: its handler
 * writes the signal number as one byte to a non-blocking close-on-exec
 * pipe whose read end the loop polls. The pipe is the one piece of
 * process-wide state here (a handler has no other way to reach it);
 * there is one per process. */
#ifndef SLUICE_SIG_H
#define SLUICE_SIG_H

int sig_catch(int sig, void (*handler)(int));
int sig_ignore(int sig);
int sig_default(int sig);
/* Adds sig to (or removes it from) the blocked set. */
int sig_block(int sig);
int sig_unblock(int sig);
/* Unblocks every signal. */
int sig_blocknone(void);

/* Puts every signal caught through sig_catch or sig_selfpipe_catch
 * back to its default, and only those: a child calls it between fork
 * and exec (child_start in wait.h), where the parent's handlers must
 * not run. Handlers installed with sigaction() or signal() directly
 * are not known here; a program that spawns children installs its
 * handlers with these functions. Async-signal-safe. */
void sig_reset_caught(void);

/* Creates the self-pipe (once; later calls return the same fd) and
 * returns its read end, to be polled for POLLIN. */
int sig_selfpipe_init(void);
/* Catches sig with the self-pipe handler; sig_selfpipe_init first. */
int sig_selfpipe_catch(int sig);
/* Takes one signal from the pipe: its number, 0 when none is pending,
 * -1 on error. */
int sig_selfpipe_read(void);

#endif
