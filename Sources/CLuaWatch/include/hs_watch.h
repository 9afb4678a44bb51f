#ifndef HEMOSTAT_WATCH_H
#define HEMOSTAT_WATCH_H

/* A watchdog for long-running rule evaluations.
 *
 * A Lua state registers once and gets a slot. Around each protected call the owner marks the
 * slot running (hs_watch_begin / hs_watch_end) and bumps it at every rule start
 * (hs_watch_next). A watchdog thread looks at the running slots every tick (2 ms); a slot
 * whose rule has not changed since the previous tick gets SIGURG, sent to the evaluating
 * thread, whose handler calls the slot's `arm(context)` there. */

typedef void (*hs_watch_arm_fn)(void *context);

/* A slot for `context`, or -1 when none is free or the watchdog cannot run. */
int hs_watch_register(void *context, hs_watch_arm_fn arm);
void hs_watch_unregister(int slot);
/* On the evaluating thread: an evaluation starts (unblocks SIGURG for the thread). */
void hs_watch_begin(int slot);
/* On the evaluating thread: the next rule starts. */
void hs_watch_next(int slot);
/* On the evaluating thread: the evaluation ended. */
void hs_watch_end(int slot);

#endif
