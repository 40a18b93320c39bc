// SPDX-License-Identifier: GPL-2.0-only
/* fwd --flush: detach and unpin everything fos owns under the pin directory. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <bpf/bpf.h>

#include "cleanup.h"
#include "feature.h"
#include "fwd.h"
#include "log.h"

/* Unpin everything under dir; every pin of dir itself is a link with
 * links_only (the tcx links of fos's TC hooks), else only those named
 * "link". A link is detached first (one whose interface went away is only
 * unpinned). */
static int _fos_rm_pins(const char *dir, bool links_only, size_t *ret_links, size_t *ret_maps)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	int r = 0;

	if (!d)
		return errno == ENOENT ? 0 : -errno;
	while ((de = readdir(d))) {
		char path[768];
		struct stat st;

		if (de->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
		if (lstat(path, &st) == 0 && S_ISDIR(st.st_mode)) {
			int k = _fos_rm_pins(path, false, ret_links, ret_maps);

			if (k < 0 && r == 0)
				r = k;
			continue;
		}
		if (!links_only && strcmp(de->d_name, "fos_tc_attach") == 0) {
			_cleanup_close_ int fd = bpf_obj_get(path);

			/* the tc filters this program put on its hooks */
			if (fd >= 0) {
				fos_tc_flush_attach(fd);
				(*ret_links)++;
			}
			(*ret_maps)++;
		} else if (links_only || strcmp(de->d_name, "link") == 0) {
			_cleanup_close_ int fd = bpf_obj_get(path);

			if (fd >= 0 && bpf_link_detach(fd) < 0 && errno != EINVAL &&
			    errno != ENOLINK)
				log_warning_errno(-errno, "cannot detach %s, ignoring", path);
			(*ret_links)++;
		} else {
			(*ret_maps)++;
		}
		if (unlink(path) < 0 && r == 0)
			r = log_error_errno(-errno, "cannot remove %s", path);
	}
	closedir(d);
	if (rmdir(dir) < 0 && errno != EBUSY && errno != ENOENT && r == 0)
		r = log_error_errno(-errno, "cannot remove %s", dir);
	return r;
}

int fos_flush(const char *pin_dir)
{
	_cleanup_close_ int fd = open(pin_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	char path[512];
	size_t links = 0, maps = 0;
	int r, k;

	if (fd < 0) {
		if (errno == ENOENT) {
			log_info("%s does not exist: nothing to flush", pin_dir);
			return 0;
		}
		return log_error_errno(-errno, "cannot open %s", pin_dir);
	}
	if (flock(fd, LOCK_EX | LOCK_NB) < 0)
		return log_error_errno(-EBUSY, "fwd is running on %s; stop it before --flush",
				       pin_dir);
	/* links first, so no program runs with half of its maps gone; then
	 * what the features pinned in directories of their own */
	snprintf(path, sizeof(path), "%s/tcx", pin_dir);
	r = _fos_rm_pins(path, true, &links, &maps);
	snprintf(path, sizeof(path), "%s/progs", pin_dir);
	k = _fos_rm_pins(path, false, &links, &maps);
	if (r == 0)
		r = k;
	for (size_t i = 0; fos_features[i]; i++) {
		if (!fos_features[i]->pin_subdir)
			continue;
		snprintf(path, sizeof(path), "%s/%s", pin_dir, fos_features[i]->pin_subdir);
		k = _fos_rm_pins(path, false, &links, &maps);
		if (r == 0)
			r = k;
	}
	snprintf(path, sizeof(path), "%s/global", pin_dir);
	k = _fos_rm_pins(path, false, &links, &maps);
	if (r == 0)
		r = k;
	log_info("flushed %s: %zu link%s detached, %zu map%s unpinned", pin_dir, links,
		 links == 1 ? "" : "s", maps, maps == 1 ? "" : "s");
	return r;
}
