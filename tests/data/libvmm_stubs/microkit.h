/* Test stub: the libmicrokit API the generated VMMs use, as seL4/microkit 2.3.0
 * (8780fab) libmicrokit/include/microkit.h declares it. */
#pragma once
#include <sel4/sel4.h>
#define MICROKIT_PD_NAME_LENGTH 64
typedef unsigned int microkit_channel;
typedef unsigned int microkit_child;
typedef unsigned int microkit_ioport;
typedef seL4_MessageInfo_t microkit_msginfo;
void init(void);
void notified(microkit_channel ch);
seL4_Bool fault(microkit_child child, microkit_msginfo msginfo, microkit_msginfo *reply_msginfo);
extern char microkit_name[MICROKIT_PD_NAME_LENGTH];
void microkit_irq_ack(microkit_channel ch);
microkit_msginfo microkit_msginfo_new(seL4_Word label, seL4_Uint16 count);
#if defined(CONFIG_ARCH_X86_64)
void microkit_vcpu_x86_enable_ioport(microkit_child vcpu, microkit_ioport ioport_id, seL4_Word port_addr,
                                     seL4_Word length);
#endif
