/* For Wine 8 only (Debian 12's), which lacks bcryptprimitives.dll: Rust's standard library
   takes its random numbers from ProcessPrng there, as on Windows 10 and later. The Wine
   tests (tests/windows/main.rs) build this stand-in with mingw-w64 and put it in their Wine
   prefix; the epicevents binary itself is unchanged, and real Windows has the real DLL. */
#include <windows.h>
#include <ntsecapi.h>

BOOL WINAPI ProcessPrng(PBYTE data, SIZE_T len) {
    while (len > 0) {
        ULONG n = len > 0x10000000 ? 0x10000000 : (ULONG)len;
        if (!RtlGenRandom(data, n)) return FALSE;
        data += n;
        len -= n;
    }
    return TRUE;
}
