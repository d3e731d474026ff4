/* queue.h: names and constants of the queue layout (sluice-queue(5)).
 *
 * The queue lives in conf-home/queue. A message's id is the inode
 * number of its file under mess/; the files that belong to it in the
 * split directories are DIR/N/ID with N = ID mod conf-split. These
 * helpers build those names; they return 0, or -1 with errno ENOMEM or
 * EOVERFLOW, and never touch the file system. */
#ifndef SLUICE_QUEUE_H
#define SLUICE_QUEUE_H

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

/* Replaces the content of name with "dir/N/ID" (no NUL appended). */
int queue_name(str *name, const char *dir, unsigned long id, unsigned long split);
/* The split directory "dir/N" that holds id. */
int queue_dirname(str *name, const char *dir, unsigned long id, unsigned long split);

#endif
