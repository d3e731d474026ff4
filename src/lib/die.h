/* die.h: how programs report errors and end.
 *
 * Only a program's main and these helpers end a process; the library
 * never exits and never prints. Messages go to fd 2 as
 *     program: fatal: part part part: errno text
 * and the process exits with the given code: 100 for a permanent
 * failure, 111 for a temporary one, unless the program's man page
 * documents its own table. The parts are NUL-terminated strings; the
 * macros add the terminating null pointer. die_progname() is called
 * once at the start of main; the name is kept in this file only. */
#ifndef SLUICE_DIE_H
#define SLUICE_DIE_H

#define EXIT_PERM 100
#define EXIT_TEMP 111

void die_progname(const char *name);
const char *die_getprogname(void);

_Noreturn void die_parts(int code, int with_errno, const char *kind, ...);
void warn_parts(int with_errno, const char *kind, ...);

/* Exit with code; message without errno text. */
#define die_msg(code, ...) die_parts((code), 0, "fatal", __VA_ARGS__, (const char *)0)
/* Exit with code; message ends with ": " and errtext(errno) (errtext.h). */
#define die_sys(code, ...) die_parts((code), 1, "fatal", __VA_ARGS__, (const char *)0)
#define die_temp(...) die_msg(EXIT_TEMP, __VA_ARGS__)
#define die_perm(...) die_msg(EXIT_PERM, __VA_ARGS__)
#define die_temp_sys(...) die_sys(EXIT_TEMP, __VA_ARGS__)
#define die_perm_sys(...) die_sys(EXIT_PERM, __VA_ARGS__)
#define die_nomem() die_msg(EXIT_TEMP, "out of memory")
/* Print a warning and go on. */
#define warn_msg(...) warn_parts(0, "warning", __VA_ARGS__, (const char *)0)
#define warn_sys(...) warn_parts(1, "warning", __VA_ARGS__, (const char *)0)
/* Exit 64 (EX_USAGE) with a usage line. */
#define die_usage(...) die_parts(64, 0, "usage", __VA_ARGS__, (const char *)0)

#endif
