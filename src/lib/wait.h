/* wait.h: waiting for children, decoding their status, and starting
 * programs (the child_ functions live here because starting and reaping
 * a process are one concern).
 *
 * wait_ functions return a pid, 0 where documented, or -1 with errno
 * set; EINTR is retried. child_start() returns the new pid or -1 with
 * errno set; when the program could not be executed (ENOENT, EACCES,
 * a failed chdir or prepare hook...) the child has already been reaped
 * and errno is the child's error, so the caller sees exec failures
 * synchronously. Nothing is allocated; argv, envp and the fd list stay
 * the caller's. */
#ifndef SLUICE_WAIT_H
#define SLUICE_WAIT_H

#include <stddef.h>
#include <sys/types.h>

/* waitpid(pid, status, 0) retrying EINTR: the pid or -1. */
pid_t wait_pid(pid_t pid, int *status);
/* Any finished child without blocking: its pid, 0 when children exist
 * but none has finished, -1 (ECHILD when there are no children). */
pid_t wait_nohang(int *status);
/* The number of the signal that killed the child, 0 when it exited. */
int wait_crashed(int status);
/* The exit code 0..255, or -1 when the child did not exit normally. */
int wait_exitcode(int status);

/* In the child, descriptor to becomes a copy of from (from -1: to is
 * closed). Assignments act as if done all at once, so swaps and cycles
 * work (1 <- 0 with 0 <- 1). Every to loses close-on-exec. */
typedef struct child_fd {
  int to;
  int from;
} child_fd;

/* At most this many fd assignments per child. */
#define CHILD_FDMAX 64

typedef struct child_spec {
  const char *path;        /* program to execve: a path, no PATH search */
  char *const *argv;       /* NULL-terminated */
  char *const *envp;       /* NULL-terminated; NULL: the current environment */
  const child_fd *fds;     /* nfds assignments, or NULL when nfds is 0 */
  size_t nfds;
  const char *dir;         /* chdir here before exec, or NULL */
  /* Called in the child last before execve (after the fd assignments
   * and chdir), for example to drop privileges with priv_drop. Must
   * only do async-signal-safe things; returns 0, or -1 with errno set
   * to abort the start. NULL: none. */
  int (*prepare)(void *arg);
  void *arg;
} child_spec;

/* Forks and execs per spec: with vfork when there is no prepare hook
 * (the caller sleeps until the child has exec'd or failed), with fork
 * when there is one. Signals are blocked in the parent around the fork;
 * in the child every signal caught through sig.h, SIGPIPE and SIGCHLD
 * go back to their defaults and then every signal is unblocked (other
 * ignored signals stay ignored). The prepare hook runs with that state,
 * in a forked child. */
pid_t child_start(const child_spec *spec);
/* child_start without chdir or prepare hook. */
pid_t child_spawn(const char *path, char *const argv[], char *const envp[], const child_fd *fds,
                  size_t nfds);

#endif
