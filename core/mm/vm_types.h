/*
 * Small types shared by every part of the VM.  No behaviour lives here.
 */
#ifndef PHOBOS_MM_VM_TYPES_H
#define PHOBOS_MM_VM_TYPES_H

#include "core/env.h"

typedef uint8_t vm_prot_t;
#define VM_PROT_NONE 0x0
#define VM_PROT_READ 0x1
#define VM_PROT_WRITE 0x2
#define VM_PROT_EXECUTE 0x4
#define VM_PROT_RW (VM_PROT_READ | VM_PROT_WRITE)
#define VM_PROT_ALL (VM_PROT_READ | VM_PROT_WRITE | VM_PROT_EXECUTE)

typedef uint64_t vm_offset_t; /* byte offset into a VM object */
typedef uint64_t vm_size_t;

struct vm_page;
struct vm_object;
struct vm_map;
struct pmap;

#endif
