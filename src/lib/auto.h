/* auto.h: the conf- values compiled into every program (tools/mkauto
 * writes auto.c at build time from conf-home, conf-split, conf-users). */
#ifndef SLUICE_AUTO_H
#define SLUICE_AUTO_H

extern const char auto_home[];
extern const unsigned long auto_split;
extern const char auto_user_alias[];
extern const char auto_user_daemon[];
extern const char auto_user_log[];
extern const char auto_user_passwd[];
extern const char auto_user_queue[];
extern const char auto_user_remote[];
extern const char auto_user_send[];
extern const char auto_user_tls[];
extern const char auto_user_dkim[];
extern const char auto_user_group[];
extern const char auto_user_nogroup[];

#endif
