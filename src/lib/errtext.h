/* errtext.h: the text of an errno value, the same in every build.
 *
 * strerror's texts depend on the C library: glibc says "Connection timed
 * out" where musl says "Operation timed out", and "Too many open files"
 * where musl says "No file descriptors available". sluice's programs are
 * built with musl or with the system's libc (see Makefile), and what
 * they write into logs, bounces and SMTP replies must not depend on
 * which: errtext() returns glibc's text for every Linux errno, from a
 * table of its own, and strerror's only for a value missing from it.
 * The result is a constant string; nothing is allocated; safe to call
 * at any time (it never changes errno). */
#ifndef SLUICE_ERRTEXT_H
#define SLUICE_ERRTEXT_H

const char *errtext(int e);

#endif
