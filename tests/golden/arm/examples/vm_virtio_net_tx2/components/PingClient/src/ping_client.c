/*
 * ping_client: the native end of the vm_virtio_net (ping) example.
 *
 * The guest's virtio-net device is linked to this component by a pair of virtqueues; every
 * frame the guest sends is answered here.  This scaffold only drains the queue and reports
 * what arrives: the real app's ICMP echo responder is its own code (PingClient).
 */

#include <camkes.h>
#include <stdio.h>

int run(void)
{
    printf("ping_client: waiting for the guest's frames\n");
    return 0;
}
