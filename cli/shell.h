/* SPDX-License-Identifier: GPL-2.0-only */
#ifndef FOSCTL_SHELL_H
#define FOSCTL_SHELL_H

#include "fosctl.h"

#define FOSCTL_PROMPT	   "fos> "
#define FOSCTL_HISTORY_MAX 1000

/*
 * The interactive shell on a terminal: readline with tab completion, `?`
 * help for the word under the cursor, and history kept in $FOSCTL_HISTORY or
 * ~/.fosctl_history. Runs until quit/exit or Ctrl-D; returns 0.
 */
int fosctl_shell_run(struct fosctl *f);

#endif
