/*
 * fdpass_test.c -- the master's control channel: framed messages with
 * descriptors over a SOCK_SEQPACKET pair, received as working copies,
 * and frames of the wrong size refused with their descriptors closed.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "fdpass.h"

static int sv[2];

static void
channel_open(void)
{
	cr_assert_eq(socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_NONBLOCK | SOCK_CLOEXEC, 0,
	    sv), 0);
}

static void
channel_close(void)
{
	close(sv[0]);
	close(sv[1]);
}

TestSuite(fdpass, .init = channel_open, .fini = channel_close);

Test(fdpass, a_message_arrives_with_working_descriptors)
{
	struct fdpass_msg out = { FDPASS_LOGS, FDPASS_LOG_ERROR | FDPASS_LOG_ACCESS, 42 };
	struct fdpass_msg in;
	int p[2], q[2], got[FDPASS_MAX_FDS];
	unsigned n = 0;
	char c = 0;

	cr_assert_eq(pipe(p), 0);
	cr_assert_eq(pipe(q), 0);
	int send_fds[2] = { p[1], q[1] };

	cr_assert_eq(fdpass_send(sv[0], &out, send_fds, 2), 0);
	cr_assert_eq(fdpass_recv(sv[1], &in, got, &n), 0);
	cr_assert_eq(in.type, FDPASS_LOGS);
	cr_assert_eq(in.flags, FDPASS_LOG_ERROR | FDPASS_LOG_ACCESS);
	cr_assert_eq(in.generation, 42);
	cr_assert_eq(n, 2);
	/* Copies of the write ends, in order, close-on-exec: they write into the same pipes. */
	cr_assert(fcntl(got[0], F_GETFD) & FD_CLOEXEC);
	cr_assert_eq(write(got[0], "e", 1), 1);
	cr_assert_eq(write(got[1], "a", 1), 1);
	cr_assert_eq(read(p[0], &c, 1), 1);
	cr_assert_eq(c, 'e');
	cr_assert_eq(read(q[0], &c, 1), 1);
	cr_assert_eq(c, 'a');
	for (unsigned i = 0; i < n; i++)
		close(got[i]);
	close(p[0]); close(p[1]); close(q[0]); close(q[1]);
}

Test(fdpass, nothing_waiting_is_eagain_and_a_closed_peer_is_epipe)
{
	struct fdpass_msg in;
	int got[FDPASS_MAX_FDS];
	unsigned n = 0;

	cr_assert_eq(fdpass_recv(sv[1], &in, got, &n), -EAGAIN);
	close(sv[0]);
	sv[0] = -1;
	cr_assert_eq(fdpass_recv(sv[1], &in, got, &n), -EPIPE);
}

Test(fdpass, a_frame_of_the_wrong_size_is_refused_and_its_descriptors_closed)
{
	char junk[3] = { 1, 2, 3 };
	struct iovec iov = { junk, sizeof(junk) };
	union {
		struct cmsghdr h;
		char buf[CMSG_SPACE(sizeof(int))];
	} ctl;
	struct msghdr mh;
	struct fdpass_msg in;
	int p[2], got[FDPASS_MAX_FDS];
	unsigned n = 99;
	char c;

	cr_assert_eq(pipe(p), 0);
	memset(&mh, 0, sizeof(mh));
	memset(&ctl, 0, sizeof(ctl));
	mh.msg_iov = &iov;
	mh.msg_iovlen = 1;
	mh.msg_control = ctl.buf;
	mh.msg_controllen = sizeof(ctl.buf);
	ctl.h.cmsg_level = SOL_SOCKET;
	ctl.h.cmsg_type = SCM_RIGHTS;
	ctl.h.cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(&ctl.h), &p[1], sizeof(int));
	cr_assert_eq(sendmsg(sv[0], &mh, 0), (ssize_t)sizeof(junk));
	close(p[1]);	/* the only write end left is the one in flight */

	cr_assert_eq(fdpass_recv(sv[1], &in, got, &n), -EBADMSG);
	/* Had the received copy been kept open, the read would say EAGAIN, not EOF. */
	fcntl(p[0], F_SETFL, O_NONBLOCK);
	cr_assert_eq(read(p[0], &c, 1), 0, "the refused frame's descriptor was closed");
	close(p[0]);
}
