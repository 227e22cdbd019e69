#!/bin/sh
#
# vm_multi, vm0: join the guest's network devices in one bridge and ask for an address on it.
# eth0 is the network device QEMU gives the machine (passed through with the PCIe
# controller), eth1 the virtio-net link to the client VMs.
#
set -e
for dev in eth0 eth1; do
    ip link set "$dev" up
done
brctl addbr br0
for dev in eth0 eth1; do
    brctl addif br0 "$dev"
done
ip link set br0 up
udhcpc -i br0
