#include "hs_watch.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <string.h>
#include <time.h>

#define HS_WATCH_SLOTS 128
#define HS_WATCH_TICK_NS 2000000L  /* 2 ms */
#define HS_WATCH_IDLE_TICKS 500    /* wait on the condition after 1 s without evaluations */

typedef struct hs_watch_slot {
    atomic_int used;
    atomic_int running;
    atomic_ulong seq;        /* bumped at every evaluation and rule start */
    pthread_t thread;        /* the evaluating thread, written before running = 1 */
    void *context;
    hs_watch_arm_fn arm;
} hs_watch_slot;

static hs_watch_slot slots[HS_WATCH_SLOTS];
static atomic_int active;   /* slots running now */
static pthread_mutex_t mutex = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t wake = PTHREAD_COND_INITIALIZER;
static pthread_once_t once = PTHREAD_ONCE_INIT;
static int ready;
static struct sigaction previous;
static __thread int unblocked;

static void on_signal(int sig, siginfo_t *info, void *context) {
    int saved_errno = errno;
    pthread_t self = pthread_self();
    for (int i = 0; i < HS_WATCH_SLOTS; i++) {
        hs_watch_slot *slot = &slots[i];
        if (!atomic_load(&slot->running) || !pthread_equal(slot->thread, self)) continue;
        slot->arm(slot->context);
        errno = saved_errno;
        return;
    }
    errno = saved_errno;
    /* Not an evaluation of ours: whatever else wanted SIGURG gets it. */
    if ((previous.sa_flags & SA_SIGINFO) && previous.sa_sigaction != NULL) {
        previous.sa_sigaction(sig, info, context);
    } else if (!(previous.sa_flags & SA_SIGINFO) && previous.sa_handler != SIG_DFL
               && previous.sa_handler != SIG_IGN && previous.sa_handler != NULL) {
        previous.sa_handler(sig);
    }
}

static void *watch(void *unused) {
    (void)unused;
    unsigned long last[HS_WATCH_SLOTS];
    char sent[HS_WATCH_SLOTS];
    memset(last, 0, sizeof(last));
    memset(sent, 0, sizeof(sent));
    int idle = 0;
    for (;;) {
        if (atomic_load(&active) == 0) {
            if (++idle >= HS_WATCH_IDLE_TICKS) {
                pthread_mutex_lock(&mutex);
                while (atomic_load(&active) == 0) pthread_cond_wait(&wake, &mutex);
                pthread_mutex_unlock(&mutex);
                idle = 0;
            }
        } else {
            idle = 0;
        }
        struct timespec tick = { 0, HS_WATCH_TICK_NS };
        while (nanosleep(&tick, &tick) != 0 && errno == EINTR) {}
        for (int i = 0; i < HS_WATCH_SLOTS; i++) {
            hs_watch_slot *slot = &slots[i];
            if (!atomic_load(&slot->used) || !atomic_load(&slot->running)) {
                last[i] = 0;
                sent[i] = 0;
                continue;
            }
            unsigned long seq = atomic_load(&slot->seq);
            if (seq != last[i]) {
                last[i] = seq;
                sent[i] = 0;
            } else if (!sent[i]) {
                sent[i] = 1;
                pthread_kill(slot->thread, SIGURG);
            }
        }
    }
    return NULL;
}

static void start(void) {
    struct sigaction action;
    memset(&action, 0, sizeof(action));
    action.sa_sigaction = on_signal;
    action.sa_flags = SA_SIGINFO | SA_RESTART;
    sigemptyset(&action.sa_mask);
    if (sigaction(SIGURG, &action, &previous) != 0) return;
    /* The watchdog thread itself never takes SIGURG. */
    sigset_t block, saved;
    sigemptyset(&block);
    sigaddset(&block, SIGURG);
    pthread_sigmask(SIG_BLOCK, &block, &saved);
    pthread_attr_t attributes;
    pthread_attr_init(&attributes);
    pthread_attr_setdetachstate(&attributes, PTHREAD_CREATE_DETACHED);
    pthread_attr_setstacksize(&attributes, 64 * 1024);
    pthread_t thread;
    int created = pthread_create(&thread, &attributes, watch, NULL);
    pthread_attr_destroy(&attributes);
    pthread_sigmask(SIG_SETMASK, &saved, NULL);
    if (created != 0) {
        sigaction(SIGURG, &previous, NULL);
        return;
    }
    ready = 1;
}

int hs_watch_register(void *context, hs_watch_arm_fn arm) {
    pthread_once(&once, start);
    if (!ready) return -1;
    for (int i = 0; i < HS_WATCH_SLOTS; i++) {
        int expected = 0;
        if (atomic_compare_exchange_strong(&slots[i].used, &expected, 1)) {
            atomic_store(&slots[i].running, 0);
            slots[i].context = context;
            slots[i].arm = arm;
            return i;
        }
    }
    return -1;
}

void hs_watch_unregister(int slot) {
    if (slot < 0 || slot >= HS_WATCH_SLOTS) return;
    atomic_store(&slots[slot].running, 0);
    atomic_store(&slots[slot].used, 0);
}

void hs_watch_begin(int slot) {
    if (!unblocked) {
        sigset_t urg;
        sigemptyset(&urg);
        sigaddset(&urg, SIGURG);
        pthread_sigmask(SIG_UNBLOCK, &urg, NULL);
        unblocked = 1;
    }
    hs_watch_slot *s = &slots[slot];
    s->thread = pthread_self();
    atomic_fetch_add(&s->seq, 1);
    atomic_store(&s->running, 1);
    if (atomic_fetch_add(&active, 1) == 0) {
        pthread_mutex_lock(&mutex);
        pthread_cond_signal(&wake);
        pthread_mutex_unlock(&mutex);
    }
}

void hs_watch_next(int slot) {
    atomic_fetch_add(&slots[slot].seq, 1);
}

void hs_watch_end(int slot) {
    atomic_store(&slots[slot].running, 0);
    atomic_fetch_sub(&active, 1);
}
