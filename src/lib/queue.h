/* queue.h: names and constants of the queue layout (sluice-queue(5)).
 *
 * The queue lives in conf-home/queue. A message's id is the inode
 * number of its file under mess/; the files that belong to it in the
 * split directories are DIR/N/ID with N = ID mod conf-split. These
 * helpers build those names; they return 0, or -1 with errno ENOMEM or
 * EOVERFLOW, and never touch the file system. */
#ifndef SLUICE_QUEUE_H
#define SLUICE_QUEUE_H

#include <sys/stat.h>
#include <sys/types.h>

#include "str.h"

/* Longest address sluice accepts in an envelope (qmail's limit). */
#define QUEUE_ADDR_MAX 1003
/* Most recipients one envelope may carry. */
#define QUEUE_RCPT_MAX 100000UL

/* The largest message accepted when control/databytes does not exist
 * (Postfix's default message_size_limit); databytes 0, written
 * explicitly, means no limit. Every entry point applies it to the
 * message as its client sent it; sluice-queue, the last line, applies
 * it to all it reads plus QUEUE_TRACE_ROOM, for the trace lines the
 * entry points and forwarders add on the way (Received, Delivered-To),
 * so a message one of them accepted is never refused by the queue. */
#define QUEUE_DATABYTES_DEFAULT 10240000UL
#define QUEUE_TRACE_ROOM 65536UL

/* The mode of a queued message file and its envelope: the queue user
 * writes, the group (sluice: the queue, send and remote roles, which
 * get it from the setgid pid/ and intd/ directories) reads, nobody else. */
#define QUEUE_FILE_MODE 0640

/* Replaces the content of name with "dir/N/ID" (no NUL appended). */
int queue_name(str *name, const char *dir, unsigned long id, unsigned long split);
/* The split directory "dir/N" that holds id. */
int queue_dirname(str *name, const char *dir, unsigned long id, unsigned long split);

/* 1 when st (from lstat or fstat) can be the message file of id: a
 * regular file whose inode number is id, owned by owner (the queue
 * user). Anything else under mess/N/ID (planted by a compromised queue
 * user, restored from a backup, or a directory) is never delivered. */
int queue_mess_is(const struct stat *st, unsigned long id, uid_t owner);

/* 1 when the message file st is the one its envelope committed: with a
 * stamp (stamped), its modification time is exactly sec.nsec, the time
 * sluice-queue gave it; without (an envelope from before stamps), it
 * was not modified after birth, the time of the envelope. A file that
 * got the id's inode after the envelope was committed fails both. */
int queue_mess_committed(const struct stat *st, int stamped, unsigned long sec, unsigned long nsec, time_t birth);

/* Appends to s the message id that names one message for the life of
 * the installation: ID "." the stamp's seconds and its nanoseconds as 9
 * digits, written as one number (nanoseconds since the epoch when the
 * message was queued). An inode number is reused as soon as a message
 * ends; the pair is not, as the second message's stamp is taken after
 * the first one's file was removed. */
int queue_msgid_cat(str *s, unsigned long id, unsigned long sec, unsigned long nsec);

#endif
