#!/bin/sh
#
# vm_multi, vm1 and vm2: bring up the virtio-net link to vm0 and ask for an address on it
# (vm0 bridges it to the outside network).
#
set -e
ip link set eth0 up
udhcpc -i eth0
