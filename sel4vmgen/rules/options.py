"""The CMake options `kernel_options` may set, by architecture, and the rule that checks them.

Names are the `config_option` / `config_string` / `config_choice` names of
seL4 (config.cmake, src/arch/arm/config.cmake, src/arch/x86/config.cmake),
camkes-vm (components/VM_Arm/CMakeLists.txt, camkes_vm_settings.cmake) and
the options camkes-vm-examples apps set (seL4_projects_libs LibSel4VMM*).
Options that another field decides (`num_nodes`, `sel4_arch`, `arch`,
`platform`) may not be set here, so the two cannot disagree.
"""

from __future__ import annotations

from sel4vmgen.diagnostics import Diagnostic, Span
from sel4vmgen.rules.context import Ctx, error
from sel4vmgen.text import did_you_mean

# seL4 config.cmake (every architecture)
KERNEL_COMMON = frozenset(
    [
        "KernelBenchmarks",
        "KernelBinaryVerificationBuild",
        "KernelBootThreadTimeSlice",
        "KernelClz32",
        "KernelClz64",
        "KernelClzNoBuiltin",
        "KernelColourPrinting",
        "KernelCtz32",
        "KernelCtz64",
        "KernelCtzNoBuiltin",
        "KernelDangerousCodeInjection",
        "KernelDebugBuild",
        "KernelDebugDisablePrefetchers",
        "KernelExceptionFastpath",
        "KernelFWholeProgram",
        "KernelFastpath",
        "KernelIRQReporting",
        "KernelInvocationReportErrorIPC",
        "KernelIsMCS",
        "KernelMaxNumBootinfoUntypedCaps",
        "KernelMaxNumTracePoints",
        "KernelMaxNumWorkUnitsPerPreemption",
        "KernelNumDomainSchedules",
        "KernelNumDomains",
        "KernelNumPriorities",
        "KernelOptimisation",
        "KernelOptimisationCloneFunctions",
        "KernelPrinting",
        "KernelResetChunkBits",
        "KernelRetypeFanOutLimit",
        "KernelRootCNodeSizeBits",
        "KernelSignalFastpath",
        "KernelStackBits",
        "KernelStaticMaxPeriodUs",
        "KernelTimeSlice",
        "KernelTimerTickMS",
        "KernelUserStackTraceLength",
        "KernelVerificationBuild",
        "KernelWcetScale",
        "CapDLLoaderMaxObjects",
        "CAmkESCPP",
    ]
)
# seL4 src/arch/arm/config.cmake (+ KernelArmCPU, KernelArmVtimerUpdateVOffset, the
# KernelArmExport* timer/counter options) and camkes-vm components/VM_Arm/CMakeLists.txt
KERNEL_ARM = frozenset(
    [
        "KernelAArch32FPUEnableContextSwitch",
        "KernelAArch64SErrorIgnore",
        "KernelAArch64UserCacheEnable",
        "KernelAllowSMCCalls",
        "KernelArmDisableWFIWFETraps",
        "KernelArmEnableA9Prefetcher",
        "KernelArmErrata430973",
        "KernelArmErrata773022",
        "KernelArmExportPMUUser",
        "KernelArmGicV3",
        "KernelArmHypEnableVCPUCP14SaveAndRestore",
        "KernelArmHypervisorSupport",
        "KernelArmSMMU",
        "KernelArmTLSReg",
        "KernelDebugDisableBranchPrediction",
        "KernelDebugDisableL1DCache",
        "KernelDebugDisableL1ICache",
        "KernelDebugDisableL2Cache",
        "KernelTk1SMMU",
        "KernelTk1SMMUInterruptEnable",
        "KernelArmCPU",
        "KernelArmVtimerUpdateVOffset",
        "KernelArmExportPCNTUser",
        "KernelArmExportPTMRUser",
        "KernelArmExportVCNTUser",
        "KernelArmExportVTMRUser",
        "VmDtbFile",
        "VmEmmc2NoDMA",
        "VmInitRdFile",
        "VmOnDemandDeviceInstall",
        "VmPCISupport",
        "VmRootfs",
        "VmTk1Rootfs",
        "VmVUSB",
        "VmVirtUart",
        "VmVirtioConsole",
        "VmVirtioNetArping",
        "VmVirtioNetVirtqueue",
        "VmZynqmpPetalinuxVersion",
        "LibUSB",
    ]
)
# seL4 src/arch/x86/config.cmake, camkes-vm camkes_vm_settings.cmake, and the LibSel4VMM*
# options the camkes-vm-examples x86 apps set (seL4_projects_libs)
KERNEL_X86 = frozenset(
    [
        "KernelCacheLnSz",
        "KernelExportPMCUser",
        "KernelFPU",
        "KernelFSGSBase",
        "KernelHugePage",
        "KernelIOMMU",
        "KernelIRQController",
        "KernelLAPICMode",
        "KernelMaxNumIOAPIC",
        "KernelMaxRMRREntries",
        "KernelMaxVPIDs",
        "KernelMultiboot1Header",
        "KernelMultiboot2Header",
        "KernelMultibootGFXDepth",
        "KernelMultibootGFXHeight",
        "KernelMultibootGFXMode",
        "KernelMultibootGFXWidth",
        "KernelSkimWindow",
        "KernelSupportPCID",
        "KernelSyscall",
        "KernelUseLogicalIDs",
        "KernelVTX",
        "KernelX86DangerousMSR",
        "KernelX86IBPBOnContextSwitch",
        "KernelX86IBRSMode",
        "KernelX86MicroArch",
        "KernelX86RSBOnContextSwitch",
        "KernelX86_64VTX64BitGuests",
        "KernelXSave",
        "KernelXSaveFeatureSet",
        "KernelXSaveSize",
        "CAmkESVMGuestDMAIommu",
        "LibSel4VMMUseHPET",
        "LibSel4VMMPlatsupportVESAFrameBuffer",
    ]
)
KNOWN = {"arm": KERNEL_COMMON | KERNEL_ARM, "x86": KERNEL_COMMON | KERNEL_X86}
OTHER = {"arm": ("x86", KERNEL_X86), "x86": ("ARM", KERNEL_ARM)}
# Options decided by another field of the system file.
DECIDED = {
    "KernelMaxNumNodes": "num_nodes",
    "KernelSel4Arch": "sel4_arch",
    "KernelArch": "arch",
    "KernelPlatform": "platform",
    "KernelARMPlatform": "platform",
    "PLATFORM": "platform",
}


def kernel_options(ctx: Ctx) -> list[Diagnostic]:
    """E231 unknown option (did-you-mean), E232 option decided by another field."""
    arch = ctx.system.arch
    out: list[Diagnostic] = []
    for name in ctx.system.kernel_options:
        where = ctx.key_span("kernel_options", name)
        if name in DECIDED:
            field = DECIDED[name]
            out.append(
                error(
                    "E232",
                    f"kernel option {name} is set from `{field}`; set `{field}` instead",
                    where,
                    ctx.key_span(field) if field in ctx.doc.data else None,
                )
            )
        elif name not in KNOWN[arch]:
            out.append(_unknown(name, arch, where))
    return out


def _unknown(name: str, arch: str, where: Span) -> Diagnostic:
    other_label, other = OTHER[arch]
    label = "ARM" if arch == "arm" else "x86"
    if name in other:
        return error(
            "E231", f"kernel option {name} is an {other_label} option, not an {label} one", where
        )
    return error(
        "E231",
        f"unknown kernel option {name} for {label}",
        where,
        hint=did_you_mean(name, sorted(KNOWN[arch]), cutoff=0.75),
    )


RULES_ONCE = (kernel_options,)
