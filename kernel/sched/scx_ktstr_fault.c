/* SPDX-License-Identifier: GPL-2.0 */
/*
 * scx_ktstr_fault: loader of ktstr's fault-injection scheduler
 * (see scx_ktstr_fault.bpf.c). Built with the kernel tree's tools/sched_ext.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <signal.h>
#include <libgen.h>
#include <bpf/bpf.h>
#include <scx/common.h>
#include "scx_ktstr_fault.bpf.skel.h"

const char help_fmt[] =
"ktstr's fault-injection sched_ext scheduler: a global FIFO that seeds one\n"
"fault into the tasks of one cgroup (or into some kernel threads).\n"
"\n"
"Usage: %s [-c CGROUP] [-d MS] [-w MS] [-n] [-u PCT] [-x] [-k COMM] [-e MS [-r]] [-v]\n"
"\n"
"  -c CGROUP  the victim cgroup's directory name (e.g. `victim`)\n"
"  -d MS      hold a victim task MS ms the first time it becomes runnable\n"
"  -w MS      hold every wake-up of a victim task MS ms\n"
"  -n         never run victim tasks\n"
"  -u PCT     give victim tasks PCT%% of the others' (long) slice\n"
"  -x         dispatch victim tasks to a CPU outside their allowed CPUs (cpuset)\n"
"  -k COMM    never run kernel threads whose name starts with COMM\n"
"  -e MS      unregister from BPF (scx_bpf_exit) MS ms after attaching\n"
"  -r         after -e unregistered it, attach again (without -e)\n"
"  -v         print libbpf debug messages\n"
"  -h         display this help and exit\n";

static bool verbose;
static volatile int exit_req;

/* The command line, applied to the skeleton at every attach. */
struct fault_opts {
	char victim[32];
	char kthread_prefix[16];
	unsigned long long first_delay_ms, wake_delay_ms, exit_after_ms;
	unsigned int victim_slice_pct;
	bool starve, escape_cpuset, reattach;
};

static int libbpf_print_fn(enum libbpf_print_level level, const char *format, va_list args)
{
	if (level == LIBBPF_DEBUG && !verbose)
		return 0;
	return vfprintf(stderr, format, args);
}

static void sigint_handler(int sig)
{
	exit_req = 1;
}

static unsigned long long ms_arg(const char *arg, char opt)
{
	char *end;
	unsigned long long v = strtoull(arg, &end, 10);

	if (*arg == '\0' || *end != '\0' || v > 3600000ULL) {
		fprintf(stderr, "-%c: `%s` is not a number of ms (0-3600000)\n", opt, arg);
		exit(2);
	}
	return v;
}

static void copy_name(char *dst, size_t size, const char *arg, char opt)
{
	if (strlen(arg) >= size) {
		fprintf(stderr, "-%c: `%s` is longer than %zu characters\n", opt, arg, size - 1);
		exit(2);
	}
	strcpy(dst, arg);
}

/* Attaches once with @o and runs until the scheduler exits; its exit code. */
static __u64 attach_and_run(const struct fault_opts *o)
{
	struct scx_ktstr_fault *skel;
	struct bpf_link *link;
	__u64 ecode;

	skel = SCX_OPS_OPEN(ktstr_fault_ops, scx_ktstr_fault);
	strcpy((char *)skel->rodata->victim, o->victim);
	strcpy((char *)skel->rodata->kthread_prefix, o->kthread_prefix);
	skel->rodata->first_delay_ns = o->first_delay_ms * 1000000ULL;
	skel->rodata->wake_delay_ns = o->wake_delay_ms * 1000000ULL;
	skel->rodata->exit_after_ns = o->exit_after_ms * 1000000ULL;
	skel->rodata->victim_slice_pct = o->victim_slice_pct;
	skel->rodata->starve = o->starve;
	skel->rodata->escape_cpuset = o->escape_cpuset;

	SCX_OPS_LOAD(skel, ktstr_fault_ops, scx_ktstr_fault, uei);
	link = SCX_OPS_ATTACH(skel, ktstr_fault_ops, scx_ktstr_fault);

	while (!exit_req && !UEI_EXITED(skel, uei)) {
		printf("victim_enqueues=%llu held=%llu released=%llu\n",
		       (unsigned long long)skel->bss->nr_victim_enqueues,
		       (unsigned long long)skel->bss->nr_held,
		       (unsigned long long)skel->bss->nr_released);
		fflush(stdout);
		sleep(1);
	}

	bpf_link__destroy(link);
	ecode = UEI_REPORT(skel, uei);
	scx_ktstr_fault__destroy(skel);
	return ecode;
}

int main(int argc, char **argv)
{
	struct fault_opts o = {};
	__u64 ecode;
	int opt;

	libbpf_set_print(libbpf_print_fn);
	signal(SIGINT, sigint_handler);
	signal(SIGTERM, sigint_handler);

	while ((opt = getopt(argc, argv, "c:d:w:nu:xk:e:rvh")) != -1) {
		switch (opt) {
		case 'c':
			copy_name(o.victim, sizeof(o.victim), optarg, 'c');
			break;
		case 'd':
			o.first_delay_ms = ms_arg(optarg, 'd');
			break;
		case 'w':
			o.wake_delay_ms = ms_arg(optarg, 'w');
			break;
		case 'n':
			o.starve = true;
			break;
		case 'u': {
			unsigned long long pct = ms_arg(optarg, 'u');

			if (pct < 1 || pct > 100) {
				fprintf(stderr, "-u: the slice share must be 1-100%%\n");
				return 2;
			}
			o.victim_slice_pct = pct;
			break;
		}
		case 'x':
			o.escape_cpuset = true;
			break;
		case 'k':
			copy_name(o.kthread_prefix, sizeof(o.kthread_prefix), optarg, 'k');
			break;
		case 'e':
			o.exit_after_ms = ms_arg(optarg, 'e');
			break;
		case 'r':
			o.reattach = true;
			break;
		case 'v':
			verbose = true;
			break;
		default:
			fprintf(stderr, help_fmt, basename(argv[0]));
			return opt != 'h';
		}
	}
	if (o.reattach && !o.exit_after_ms) {
		fprintf(stderr, "-r: re-attaching needs -e MS (the exit to re-attach after)\n");
		return 2;
	}

	ecode = attach_and_run(&o);
	if (o.reattach && !exit_req) {
		/* The fault: come back as if nothing happened. */
		o.exit_after_ms = 0;
		printf("re-attaching after the exit\n");
		fflush(stdout);
		ecode = attach_and_run(&o);
	}
	return ecode ? 1 : 0;
}
