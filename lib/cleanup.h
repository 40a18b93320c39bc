/* SPDX-License-Identifier: GPL-2.0-only */
/* Scope-bound cleanup: a local marked with one of these is released when it
 * goes out of scope; ownership leaves it only through TAKE_PTR / TAKE_FD. */
#ifndef FOS_CLEANUP_H
#define FOS_CLEANUP_H

#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#define _cleanup_(f) __attribute__((cleanup(f)))

static inline void fos_freep(void *p)
{
	free(*(void **)p);
	*(void **)p = NULL;
}

static inline void fos_closep(int *fd)
{
	if (*fd >= 0)
		close(*fd);
	*fd = -1;
}

static inline void fos_fclosep(FILE **f)
{
	if (*f)
		fclose(*f);
	*f = NULL;
}

#define _cleanup_free_	 _cleanup_(fos_freep)
#define _cleanup_close_	 _cleanup_(fos_closep)
#define _cleanup_fclose_ _cleanup_(fos_fclosep)

#define TAKE_PTR(p)                                                                                \
	({                                                                                         \
		__typeof__(p) _tp = (p);                                                           \
		(p) = NULL;                                                                        \
		_tp;                                                                               \
	})

#define TAKE_FD(fd)                                                                                \
	({                                                                                         \
		int _tf = (fd);                                                                    \
		(fd) = -1;                                                                         \
		_tf;                                                                               \
	})

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

#endif
