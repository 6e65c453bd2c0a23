/* SPDX-License-Identifier: MIT */
/* LD_PRELOAD shim for integration tests: sendmmsg refuses every UDP segmentation-offload send
 * (one with a control message) with EIO, as the kernel does on a route whose device has no
 * checksum offload; plain datagrams pass. The collector must fall back to one-by-one sends. */
#include <dlfcn.h>
#include <errno.h>
#include <sys/socket.h>

typedef int (*sendmmsg_fn)(int, struct mmsghdr *, unsigned int, int);

int sendmmsg(int fd, struct mmsghdr *v, unsigned int n, int flags)
{
	sendmmsg_fn real = (sendmmsg_fn)dlsym(RTLD_NEXT, "sendmmsg");
	for (unsigned int i = 0; i < n; i++) {
		if (v[i].msg_hdr.msg_controllen == 0)
			continue;
		if (i == 0) {
			errno = EIO;
			return -1;
		}
		return real(fd, v, i, flags); /* the plain ones before it leave */
	}
	return real(fd, v, n, flags);
}
