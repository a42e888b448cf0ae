/*
 * notify.h -- the systemd readiness protocol: one datagram of "KEY=VALUE"
 * lines to the unix socket named by $NOTIFY_SOCKET (a no-op without it).
 */
#ifndef PASSTHROUGH_NOTIFY_H
#define PASSTHROUGH_NOTIFY_H

void notify_send(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* "RELOADING=1" with the MONOTONIC_USEC systemd wants beside it. */
void notify_reloading(void);

#endif
