// The only C in SwiftVirt: what Swift cannot import from the kernel headers.
// - ioctl request numbers (function-like _IO/_IOW macros) as inline functions,
// - a non-variadic ioctl (Swift cannot call C variadic functions),
// - the kvm_run / kvm_msr_filter / kvm_cpuid2 layouts from linux/kvm.h,
// - eventfd and epoll, which Glibc's module map leaves out.
#ifndef CKVM_H
#define CKVM_H

#include <linux/kvm.h>
#include <sys/ioctl.h>
#include <stdint.h>
#include <stddef.h>
#include <sys/prctl.h>
#include <sys/eventfd.h>
#include <sys/epoll.h>

static inline int ckvm_ioctl(int fd, unsigned long request, void *argument) {
    return ioctl(fd, request, argument);
}
static inline int ckvm_ioctl_value(int fd, unsigned long request, unsigned long argument) {
    return ioctl(fd, request, argument);
}

#define CKVM_REQUEST(name) static inline unsigned long CKVM_##name(void) { return name; }
// System ioctls.
CKVM_REQUEST(KVM_GET_API_VERSION)
CKVM_REQUEST(KVM_CREATE_VM)
CKVM_REQUEST(KVM_CHECK_EXTENSION)
CKVM_REQUEST(KVM_GET_VCPU_MMAP_SIZE)
CKVM_REQUEST(KVM_GET_SUPPORTED_CPUID)
CKVM_REQUEST(KVM_GET_MSR_INDEX_LIST)
// VM ioctls.
CKVM_REQUEST(KVM_CREATE_VCPU)
CKVM_REQUEST(KVM_SET_USER_MEMORY_REGION)
CKVM_REQUEST(KVM_SET_TSS_ADDR)
CKVM_REQUEST(KVM_SET_IDENTITY_MAP_ADDR)
CKVM_REQUEST(KVM_CREATE_IRQCHIP)
CKVM_REQUEST(KVM_CREATE_PIT2)
CKVM_REQUEST(KVM_IRQ_LINE)
CKVM_REQUEST(KVM_IRQFD)
CKVM_REQUEST(KVM_IOEVENTFD)
CKVM_REQUEST(KVM_ENABLE_CAP)
CKVM_REQUEST(KVM_X86_SET_MSR_FILTER)
CKVM_REQUEST(KVM_REGISTER_COALESCED_MMIO)
CKVM_REQUEST(KVM_SIGNAL_MSI)
CKVM_REQUEST(KVM_SET_GSI_ROUTING)
CKVM_REQUEST(KVM_GET_CLOCK)
CKVM_REQUEST(KVM_SET_CLOCK)
// vCPU ioctls.
CKVM_REQUEST(KVM_RUN)
CKVM_REQUEST(KVM_GET_REGS)
CKVM_REQUEST(KVM_SET_REGS)
CKVM_REQUEST(KVM_GET_SREGS)
CKVM_REQUEST(KVM_SET_SREGS)
CKVM_REQUEST(KVM_GET_FPU)
CKVM_REQUEST(KVM_SET_FPU)
CKVM_REQUEST(KVM_GET_MSRS)
CKVM_REQUEST(KVM_SET_MSRS)
CKVM_REQUEST(KVM_SET_CPUID2)
CKVM_REQUEST(KVM_GET_CPUID2)
CKVM_REQUEST(KVM_GET_LAPIC)
CKVM_REQUEST(KVM_SET_LAPIC)
CKVM_REQUEST(KVM_GET_VCPU_EVENTS)
CKVM_REQUEST(KVM_SET_VCPU_EVENTS)
CKVM_REQUEST(KVM_GET_MP_STATE)
CKVM_REQUEST(KVM_SET_MP_STATE)
CKVM_REQUEST(KVM_TRANSLATE)
CKVM_REQUEST(KVM_SET_SIGNAL_MASK)
CKVM_REQUEST(KVM_GET_XCRS)
CKVM_REQUEST(KVM_SET_XCRS)
CKVM_REQUEST(KVM_GET_XSAVE)
CKVM_REQUEST(KVM_SET_XSAVE)
CKVM_REQUEST(KVM_KVMCLOCK_CTRL)
#undef CKVM_REQUEST

// kvm_run's I/O data lives at a byte offset inside the mmapped page.
static inline uint8_t *ckvm_run_io_data(struct kvm_run *run) {
    return (uint8_t *)run + run->io.data_offset;
}

// Variable-length ioctl arguments, allocated by the caller with these sizes.
static inline size_t ckvm_cpuid2_size(uint32_t entries) {
    return sizeof(struct kvm_cpuid2) + entries * sizeof(struct kvm_cpuid_entry2);
}
static inline size_t ckvm_msrs_size(uint32_t entries) {
    return sizeof(struct kvm_msrs) + entries * sizeof(struct kvm_msr_entry);
}
static inline size_t ckvm_msr_list_size(uint32_t entries) {
    return sizeof(struct kvm_msr_list) + entries * sizeof(uint32_t);
}

// Names the calling thread (shown by ps/top); prctl is variadic, so Swift cannot call it directly.
static inline void ckvm_set_thread_name(const char *name) {
    prctl(PR_SET_NAME, (unsigned long)name, 0, 0, 0);
}

#endif
