/* Test stub: the seL4 types the generated VMMs use, with the shapes of seL4 16.0.0's
 * libsel4 (seL4_Word, seL4_Bool, seL4_MessageInfo_t, seL4_VCPUContext on x86_64). */
#pragma once
#include <stdint.h>
typedef uint64_t seL4_Word;
typedef uint16_t seL4_Uint16;
typedef int8_t seL4_Bool;
#define seL4_True ((seL4_Bool)1)
#define seL4_False ((seL4_Bool)0)
typedef struct seL4_MessageInfo { seL4_Word words[1]; } seL4_MessageInfo_t;
#if defined(CONFIG_ARCH_X86_64)
typedef struct seL4_VCPUContext_ { seL4_Word eax, ebx, ecx, edx, esi, edi, ebp; } seL4_VCPUContext;
#endif
