"""Units of size, defined once: every stage takes them from here.

`PAGE` is the 4 KiB small page, the smallest frame on every architecture
seL4 builds for here (x86 and ARM; seL4 `seL4_PageBits` = 12) and Microkit's
smallest page size (seL4/microkit tool/microkit/src/sel4.rs `PageSize::Small`).
"""

from __future__ import annotations

KIB = 1 << 10
MIB = 1 << 20
GIB = 1 << 30
TIB = 1 << 40
PAGE_BITS = 12
PAGE = 1 << PAGE_BITS
