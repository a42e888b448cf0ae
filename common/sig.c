/* sig.c -- signal set-up shared by the master and the workers. */
#include <string.h>

#include "sig.h"

void
sig_setup(const int *handled, size_t handled_count, const int *ignored,
    size_t ignored_count, void (*handler)(int), sigset_t *waitmask)
{
	struct sigaction sa;
	sigset_t block;

	memset(&sa, 0, sizeof(sa));
	sigemptyset(&sa.sa_mask);
	sa.sa_handler = SIG_IGN;
	for (size_t i = 0; i < ignored_count; i++)
		sigaction(ignored[i], &sa, NULL);
	sa.sa_handler = handler;
	sigemptyset(&block);
	for (size_t i = 0; i < handled_count; i++) {
		sigaction(handled[i], &sa, NULL);
		sigaddset(&block, handled[i]);
	}
	sigprocmask(SIG_BLOCK, &block, waitmask);
	for (size_t i = 0; i < handled_count; i++)
		sigdelset(waitmask, handled[i]);
}
