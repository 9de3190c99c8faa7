"""Probes of what the running kernel supports, answered by trying it (raw syscalls)."""

from __future__ import annotations

import os

# x86-64's x32 ABI: x32 system calls are the x86-64 numbers with this bit set.
_X32_SYSCALL_BIT = 0x40000000
_NR_GETPID = 39


def x32_abi_enabled() -> bool:
    """Whether the kernel accepts x32 system calls (x86-64 only). Kernels built without
    CONFIG_X86_X32_ABI, or booted with it disabled, answer ENOSYS to every one of them."""
    if os.uname().machine != "x86_64":
        return False
    import ctypes

    from otter.sys.libc import libc
    return libc().syscall(ctypes.c_long(_X32_SYSCALL_BIT | _NR_GETPID)) == os.getpid()
