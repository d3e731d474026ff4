/* relro.c: full RELRO for the static musl programs (Makefile,
 * "Compilers"; linked into each of them, and into nothing else).
 *
 * conf-ld links with -z relro -z now so that the relocated pointers
 * (.data.rel.ro, the GOT: const tables of pointers, function addresses)
 * are read-only before main() runs; in a dynamic program the loader
 * makes them so, in a static glibc program glibc's start-up does. musl's
 * static start-up applies the relocations of a static-pie program but
 * leaves the PT_GNU_RELRO range writable. This constructor, run after
 * the relocations and before main(), makes it read-only, as glibc's
 * _dl_protect_relro does: from the page holding its start to the last
 * page boundary inside it (the linker pads the range to end on one).
 *
 * The program headers are found through __ehdr_start (the ELF header,
 * which the linker places at the start of the first loaded segment):
 * no auxiliary vector, no allocation. Nothing is reported: a failed
 * mprotect leaves the program as musl would have it. */
#include <elf.h>
#include <stdint.h>
#include <sys/auxv.h>
#include <sys/mman.h>

#if UINTPTR_MAX > 0xffffffffu
typedef Elf64_Ehdr ehdr_t;
typedef Elf64_Phdr phdr_t;
#else
typedef Elf32_Ehdr ehdr_t;
typedef Elf32_Phdr phdr_t;
#endif

extern const ehdr_t __ehdr_start;

__attribute__((constructor)) static void relro_protect(void)
{
  const ehdr_t *eh = &__ehdr_start;
  const phdr_t *ph = (const phdr_t *)((const char *)eh + eh->e_phoff);
  uintptr_t base = 0, page = (uintptr_t)getauxval(AT_PAGESZ);
  int have_base = 0;

  if (page == 0 || (page & (page - 1)) != 0) page = 4096;
  for (unsigned i = 0; i < eh->e_phnum; ++i)
    if (ph[i].p_type == PT_LOAD && ph[i].p_offset == 0) {
      base = (uintptr_t)eh - (uintptr_t)ph[i].p_vaddr;
      have_base = 1;
      break;
    }
  if (!have_base) return;
  for (unsigned i = 0; i < eh->e_phnum; ++i)
    if (ph[i].p_type == PT_GNU_RELRO) {
      uintptr_t start = (base + (uintptr_t)ph[i].p_vaddr) & ~(page - 1);
      uintptr_t end = (base + (uintptr_t)ph[i].p_vaddr + (uintptr_t)ph[i].p_memsz) & ~(page - 1);
      if (end > start) (void)mprotect((void *)start, end - start, PROT_READ);
    }
}
