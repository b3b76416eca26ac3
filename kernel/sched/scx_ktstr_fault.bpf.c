/* SPDX-License-Identifier: GPL-2.0 */
/*
 * scx_ktstr_fault: ktstr's fault-injection scheduler.
 *
 * A global FIFO scheduler (every CPU consumes one shared queue) whose flags
 * each seed one class of scheduler bug into the tasks of one cgroup, the
 * "victim" (matched by the cgroup's directory name), so that each of ktstr's
 * checks can be shown to catch the bug it is for:
 *
 *   first_delay_ns   hold a victim task the first time it becomes runnable
 *   wake_delay_ns    hold every wake-up of a victim task
 *   starve           never run victim tasks
 *   victim_slice_pct give victim tasks a fraction of everyone else's slice
 *   escape_cpuset    dispatch victim tasks to a CPU outside their allowed CPUs
 *   kthread_prefix   never run kernel threads whose name starts with this
 *   exit_after_ns    unregister from BPF (scx_bpf_exit) this long after attach
 *
 * Held tasks wait in DELAY_DSQ, ordered by the time they are due; ops.dispatch
 * and a 1 ms BPF timer (for idle CPUs) move due tasks to the shared queue.
 */
#include <scx/common.bpf.h>
#include <bpf/bpf_core_read.h>

char _license[] SEC("license") = "GPL";

#define SHARED_DSQ 0
#define DELAY_DSQ 1
#define NAME_LEN 32
#define TIMER_NS 1000000ULL
/*
 * With victim_slice_pct, everyone else gets long slices and the victim a
 * share of them: slices end at scheduler ticks (4 ms at HZ=250), so the
 * victim's short slice must be measured against a long one to bite.
 */
#define UNFAIR_BASE_SLICE (SCX_SLICE_DFL * 4)
/* "Never": far enough that no run reaches it, small enough not to wrap. */
#define NEVER_NS (1ULL << 62)
#define COMM_LEN 16
#ifndef PF_KTHREAD
#define PF_KTHREAD 0x00200000 /* include/linux/sched.h; #defines are not in BTF */
#endif

const volatile char victim[NAME_LEN];
const volatile u64 first_delay_ns;
const volatile u64 wake_delay_ns;
const volatile bool starve;
const volatile u32 victim_slice_pct;
const volatile u64 exit_after_ns;
const volatile bool escape_cpuset;
const volatile char kthread_prefix[COMM_LEN];

u64 nr_held, nr_released, nr_victim_enqueues;
static u64 attach_ns;

UEI_DEFINE(uei);

struct task_ctx {
	bool seen;
};

struct {
	__uint(type, BPF_MAP_TYPE_TASK_STORAGE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, int);
	__type(value, struct task_ctx);
} task_ctxs SEC(".maps");

struct release_timer {
	struct bpf_timer timer;
};

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, u32);
	__type(value, struct release_timer);
} release_timer SEC(".maps");

/* Whether @p is in the victim cgroup (its directory name equals @victim). */
static bool is_victim(struct task_struct *p)
{
	char name[NAME_LEN] = {};
	struct cgroup *cgrp;
	const char *kn_name;
	int i;

	if (!victim[0])
		return false;
	cgrp = scx_bpf_task_cgroup(p);
	kn_name = BPF_CORE_READ(cgrp, kn, name);
	bpf_cgroup_release(cgrp);
	if (bpf_probe_read_kernel_str(name, sizeof(name), kn_name) < 0)
		return false;
	for (i = 0; i < NAME_LEN; i++) {
		if (name[i] != victim[i])
			return false;
		if (!name[i])
			return true;
	}
	return true;
}

/* Whether @p is a kernel thread whose name starts with @kthread_prefix. */
static bool is_starved_kthread(struct task_struct *p)
{
	char comm[COMM_LEN] = {};
	int i;

	if (!kthread_prefix[0] || !(p->flags & PF_KTHREAD))
		return false;
	if (bpf_probe_read_kernel_str(comm, sizeof(comm), p->comm) < 0)
		return false;
	for (i = 0; i < COMM_LEN; i++) {
		if (!kthread_prefix[i])
			return true;
		if (comm[i] != kthread_prefix[i])
			return false;
	}
	return true;
}

/* The first CPU @p may not run on, or -1 if it may run on all of them. */
static s32 outside_cpu(struct task_struct *p)
{
	s32 cpu;

	bpf_for(cpu, 0, scx_bpf_nr_cpu_ids()) {
		if (!bpf_cpumask_test_cpu(cpu, p->cpus_ptr))
			return cpu;
	}
	return -1;
}

s32 BPF_STRUCT_OPS(ktstr_fault_select_cpu, struct task_struct *p, s32 prev_cpu,
		   u64 wake_flags)
{
	bool is_idle = false;

	/* No direct dispatch: every task goes through enqueue, where faults apply. */
	return scx_bpf_select_cpu_dfl(p, prev_cpu, wake_flags, &is_idle);
}

void BPF_STRUCT_OPS(ktstr_fault_enqueue, struct task_struct *p, u64 enq_flags)
{
	u64 slice = victim_slice_pct ? UNFAIR_BASE_SLICE : SCX_SLICE_DFL;
	u64 hold = 0;
	struct task_ctx *tctx;

	if (is_starved_kthread(p))
		hold = NEVER_NS;
	if (is_victim(p)) {
		__sync_fetch_and_add(&nr_victim_enqueues, 1);
		tctx = bpf_task_storage_get(&task_ctxs, p, 0,
					    BPF_LOCAL_STORAGE_GET_F_CREATE);
		if (starve)
			hold = NEVER_NS;
		else if (first_delay_ns && tctx && !tctx->seen)
			hold = first_delay_ns;
		else if (wake_delay_ns && (enq_flags & SCX_ENQ_WAKEUP))
			hold = wake_delay_ns;
		if (tctx)
			tctx->seen = true;
		if (victim_slice_pct)
			slice = UNFAIR_BASE_SLICE * victim_slice_pct / 100;
		if (escape_cpuset && !hold) {
			s32 cpu = outside_cpu(p);

			/* The kernel refuses this and ejects the scheduler. */
			if (cpu >= 0) {
				scx_bpf_dispatch(p, SCX_DSQ_LOCAL_ON | cpu, slice, enq_flags);
				return;
			}
		}
	}
	if (hold) {
		__sync_fetch_and_add(&nr_held, 1);
		scx_bpf_dispatch_vtime(p, DELAY_DSQ, slice,
				       bpf_ktime_get_ns() + hold, enq_flags);
		return;
	}
	scx_bpf_dispatch(p, SHARED_DSQ, slice, enq_flags);
}

/* Moves the held tasks whose time has come to the shared queue. */
static void release_due(bool kick)
{
	u64 now = bpf_ktime_get_ns();
	struct task_struct *p;

	bpf_for_each(scx_dsq, p, DELAY_DSQ, 0) {
		s32 cpu;

		if (p->scx.dsq_vtime > now)
			break;
		cpu = scx_bpf_pick_any_cpu(p->cpus_ptr, 0);
		if (scx_bpf_dispatch_from_dsq(BPF_FOR_EACH_ITER, p, SHARED_DSQ, 0)) {
			__sync_fetch_and_add(&nr_released, 1);
			if (kick && cpu >= 0)
				scx_bpf_kick_cpu(cpu, SCX_KICK_IDLE);
		}
	}
}

void BPF_STRUCT_OPS(ktstr_fault_dispatch, s32 cpu, struct task_struct *prev)
{
	release_due(false);
	scx_bpf_consume(SHARED_DSQ);
}

static int release_timerfn(void *map, int *key, struct bpf_timer *timer)
{
	bpf_rcu_read_lock();
	release_due(true);
	bpf_rcu_read_unlock();
	if (exit_after_ns && bpf_ktime_get_ns() - attach_ns >= exit_after_ns) {
		scx_bpf_exit(0, "ktstr fault: unregistering %llu ms after attach",
			     exit_after_ns / 1000000);
		return 0;
	}
	bpf_timer_start(timer, TIMER_NS, 0);
	return 0;
}

s32 BPF_STRUCT_OPS_SLEEPABLE(ktstr_fault_init)
{
	struct bpf_timer *timer;
	u32 key = 0;
	s32 ret;

	attach_ns = bpf_ktime_get_ns();
	ret = scx_bpf_create_dsq(SHARED_DSQ, -1);
	if (ret)
		return ret;
	ret = scx_bpf_create_dsq(DELAY_DSQ, -1);
	if (ret)
		return ret;
	timer = bpf_map_lookup_elem(&release_timer, &key);
	if (!timer)
		return -ESRCH;
	bpf_timer_init(timer, &release_timer, CLOCK_MONOTONIC);
	bpf_timer_set_callback(timer, release_timerfn);
	return bpf_timer_start(timer, TIMER_NS, 0);
}

void BPF_STRUCT_OPS(ktstr_fault_exit, struct scx_exit_info *ei)
{
	UEI_RECORD(uei, ei);
}

SCX_OPS_DEFINE(ktstr_fault_ops,
	       .select_cpu		= (void *)ktstr_fault_select_cpu,
	       .enqueue			= (void *)ktstr_fault_enqueue,
	       .dispatch		= (void *)ktstr_fault_dispatch,
	       .init			= (void *)ktstr_fault_init,
	       .exit			= (void *)ktstr_fault_exit,
	       /* The harness caps it per run (scx_watchdog_max_ms); 5 s without the cap. */
	       .timeout_ms		= 5000U,
	       .name			= "ktstr_fault");
