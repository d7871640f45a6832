// SPDX-License-Identifier: GPL-2.0
/* smpvisor command line: placeholder until the boot path lands (issue 3). */
#include <stdio.h>
#include <string.h>

#include "util.h"

#define SMPVISOR_VERSION "0.1.0"

int main(int argc, char **argv)
{
	if (argc > 1 && !strcmp(argv[1], "--version")) {
		printf("smpvisor %s\n", SMPVISOR_VERSION);
		return 0;
	}
	printf("usage: smpvisor run --kernel PATH [options]\n");
	return argc > 1 && strcmp(argv[1], "--help") ? 1 : 0;
}
