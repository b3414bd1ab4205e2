/* The one function Rust's standard library imports from bcryptprimitives.dll (ProcessPrng,
 * Windows 10 and later), for Wine releases that do not ship that DLL (Debian 12's Wine 8).
 * Only for running the cross-built `modreg.exe` under Wine in CI; never shipped.
 * It draws from RtlGenRandom (advapi32's SystemFunction036), which every Wine has. */
#include <windows.h>

BOOLEAN WINAPI SystemFunction036(PVOID buffer, ULONG length);

BOOL WINAPI ProcessPrng(PBYTE data, SIZE_T length) {
    while (length > 0) {
        ULONG chunk = length > 0x40000000 ? 0x40000000 : (ULONG)length;
        if (!SystemFunction036(data, chunk)) {
            return FALSE;
        }
        data += chunk;
        length -= chunk;
    }
    return TRUE;
}
