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
"fault into the tasks of one cgroup.\n"
"\n"
"Usage: %s -c CGROUP [-d MS] [-w MS] [-n] [-u PCT] [-e MS] [-v]\n"
"\n"
"  -c CGROUP  the victim cgroup's directory name (e.g. `victim`)\n"
"  -d MS      hold a victim task MS ms the first time it becomes runnable\n"
"  -w MS      hold every wake-up of a victim task MS ms\n"
"  -n         never run victim tasks\n"
"  -u PCT     give victim tasks PCT%% of the others' (long) slice\n"
"  -e MS      unregister from BPF (scx_bpf_exit) MS ms after attaching\n"
"  -v         print libbpf debug messages\n"
"  -h         display this help and exit\n";

static bool verbose;
static volatile int exit_req;

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

int main(int argc, char **argv)
{
	struct scx_ktstr_fault *skel;
	struct bpf_link *link;
	__u32 opt;
	__u64 ecode;

	libbpf_set_print(libbpf_print_fn);
	signal(SIGINT, sigint_handler);
	signal(SIGTERM, sigint_handler);
	skel = SCX_OPS_OPEN(ktstr_fault_ops, scx_ktstr_fault);

	while ((opt = getopt(argc, argv, "c:d:w:nu:e:vh")) != -1) {
		switch (opt) {
		case 'c':
			if (strlen(optarg) >= sizeof(skel->rodata->victim)) {
				fprintf(stderr, "-c: cgroup name `%s` is too long\n", optarg);
				return 2;
			}
			strcpy((char *)skel->rodata->victim, optarg);
			break;
		case 'd':
			skel->rodata->first_delay_ns = ms_arg(optarg, 'd') * 1000000ULL;
			break;
		case 'w':
			skel->rodata->wake_delay_ns = ms_arg(optarg, 'w') * 1000000ULL;
			break;
		case 'n':
			skel->rodata->starve = true;
			break;
		case 'u': {
			unsigned long long pct = ms_arg(optarg, 'u');

			if (pct < 1 || pct > 100) {
				fprintf(stderr, "-u: the slice share must be 1-100%%\n");
				return 2;
			}
			skel->rodata->victim_slice_pct = pct;
			break;
		}
		case 'e':
			skel->rodata->exit_after_ns = ms_arg(optarg, 'e') * 1000000ULL;
			break;
		case 'v':
			verbose = true;
			break;
		default:
			fprintf(stderr, help_fmt, basename(argv[0]));
			return opt != 'h';
		}
	}

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
	return ecode ? 1 : 0;
}
