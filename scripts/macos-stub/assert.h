/* Stand-in for libc's assert.h (scripts/check-macos). */
#pragma once
#define assert(x) ((void)0)
