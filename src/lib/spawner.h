/* spawner.h: the loop shared by sluice-lspawn and sluice-rspawn.
 *
 * spawner_run() reads requests (sluice-spawn(5)) on in_fd, starts one
 * delivery process per request through ops->start, collects what each
 * process writes on its result pipe (at most SPAWNER_OUTPUT_MAX bytes;
 * the rest is read and thrown away so the process never blocks), and
 * when the pipe has reached end of file and the process has been
 * reaped, has ops->finish turn output and wait status into one entry
 * per recipient, and writes the result frame to out_fd with a blocking
 * write. Up to SPAWN_SLOTS_MAX deliveries run at once; no single one
 * can hold up the others or the reading of requests.
 *
 * A request that does not decode, or whose slot is already in flight,
 * is logged through ops->log and dropped. A delivery that cannot be
 * started is answered Z "4.3.0 unable to start delivery: <errno text>"
 * for every recipient. A process that has exited but whose pipe is
 * held open by a descendant is given SPAWNER_LINGER_MS, then its pipe
 * is closed and it is answered with what it wrote.
 *
 * spawner_run returns 0 after end of file on in_fd once every delivery
 * in flight has been answered (or could not be, because out_fd was
 * closed, or sluice-send has gone (EPIPE): then the results are
 * dropped and logged, each still journaled); -1 with errno on a
 * framing error on in_fd (EPROTO, EMSGSIZE), a read or write error
 * (the program then exits 111), or no memory. It ignores SIGPIPE and
 * catches SIGCHLD through the self-pipe of sig.h (child_start puts
 * both back to default in the children). The request passed to the
 * callbacks is owned by the loop and lives until finish returns. */
#ifndef SLUICE_SPAWNER_H
#define SLUICE_SPAWNER_H

#include <stddef.h>
#include <sys/types.h>

#include "spawn.h"
#include "str.h"

#define SPAWNER_OUTPUT_MAX 65536UL
#define SPAWNER_LINGER_MS 5000

struct spawner_ops {
  /* Starts the delivery of req. Returns 1 with *pid the process and
   * *fd the read end (close-on-exec) of its result pipe, which the loop
   * then owns; 0 when the callback answered at once, having added one
   * entry per recipient to work (spawn_result_add; the loop has already
   * called spawn_result_begin); -1 with errno when nothing could be
   * started (the loop answers Z for every recipient). */
  int (*start)(void *ctx, struct spawn_request *req, pid_t *pid, int *fd, str *work);
  /* Adds one entry per recipient of req to work from the process's
   * output out[0..len) and its wait status. 0, or -1 (no memory). */
  int (*finish)(void *ctx, const struct spawn_request *req, const char *out, size_t len,
                int status, str *work);
  /* Called (when not NULL) in the spawner when the delivery started
   * for req has ended, before its result is written: finish runs in
   * the delivery's monitor process (spawner_start_delivery), so state
   * the spawner keeps per slot is released here. */
  void (*release)(void *ctx, const struct spawn_request *req);
  /* Logs a line: what, and ": errno text" when err is not 0. */
  void (*log)(void *ctx, const char *what, int err);
  void *ctx;
  /* The delivery journal (journal.h), relative to the working
   * directory, or NULL for none: each result of a started delivery is
   * appended to it before it is written to out_fd. */
  const char *journal;
};

int spawner_run(const struct spawner_ops *ops, int in_fd, int out_fd);

/* Adds the same entry, letter and text, for each recipient of req. */
int spawner_answer_all(str *work, const struct spawn_request *req, char letter,
                       const char *text, size_t len);

/* A pipe with both ends close-on-exec (so that no other delivery
 * inherits a write end and keeps the reader from seeing end of file):
 * 0, or -1 with errno. */
int spawner_pipe(int p[2]);

/* Starts path with argv, in on its fd 0 and the write end of a new
 * result pipe (spawner_pipe) on its fd 1; prepare(arg) runs in the
 * child last before execve (child_spec; prepare may be NULL). Returns
 * the pid with *fd the read end of the pipe (close-on-exec, now the
 * caller's), or -1 with errno and no descriptor left open. in stays
 * the caller's either way. */
pid_t spawner_start(const char *path, char *const *argv, int in, int (*prepare)(void *arg), void *arg, int *fd);
/* Starts the delivery of the request whose ops->start is running (call
 * it from there, once, for the delivery itself; elsewhere it is
 * spawner_start_env): a monitor process is forked that starts path as
 * spawner_start_env would, collects its output, reaps it, makes the
 * result with ops->finish, journals it and writes the result body
 * (spawn_result_begin and entries) on the returned pipe, then exits 0.
 * The pid returned is the monitor's. A kill -9 of the spawner leaves
 * the monitors to finish and journal their deliveries (sluice-spawn(5),
 * "Monitors"). */
pid_t spawner_start_delivery(const char *path, char *const *argv, char *const *envp, int in,
                             int (*prepare)(void *arg), void *arg, int *fd);
/* From now on every program started by spawner_start* gets from as its
 * descriptor to (greater than 2), as sluice-rspawn gives each
 * sluice-remote the socket of sluice-scache; from -1: none. */
void spawner_pass_fd(int to, int from);
/* spawner_start with the environment envp (NULL: the current one). */
pid_t spawner_start_env(const char *path, char *const *argv, char *const *envp, int in, int (*prepare)(void *arg),
                        void *arg, int *fd);

/* Opens queue/mess/N/ID (relative to the working directory, which is
 * conf-home) for reading, close-on-exec, without following a symbolic
 * link; the descriptor, or -1 with errno (EPERM when the file is not a
 * regular file with inode number ID owned by the owner of queue/mess
 * with at most two links). */
int spawner_open_message(unsigned long id);

/* How sluice-lspawn reads sluice-local's answer (sluice-lspawn(8)):
 * one letter, then the text (trailing newlines dropped); K is trusted
 * only with exit code 0, D only with 100; Z stays Z; a crash, no
 * output, another letter or a contradicting exit code give Z. Adds one
 * entry to work. */
int spawner_local_result(str *work, const char *out, size_t len, int status);
/* How sluice-rspawn reads sluice-remote's answer (sluice-rspawn(8)):
 * nrcpts records, each a letter K, P, Z or D, the text and a NUL, in the
 * recipients' order. A crash (death by a signal) makes every recipient
 * Z; a missing record Z; a record that does not parse Z. Adds nrcpts
 * entries to work. */
int spawner_remote_result(str *work, size_t nrcpts, const char *out, size_t len, int status);

#endif
