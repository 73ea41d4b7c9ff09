package dev.kindling.kernels;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

class CacheSizesTest {
    @Test
    void parsesSysfsSizes() {
        assertEquals(48L << 10, CacheSizes.parseSize("48K"));
        assertEquals(32L << 20, CacheSizes.parseSize("32M"));
        assertEquals(512, CacheSizes.parseSize("512"));
        assertEquals(0, CacheSizes.parseSize("lots"));
        assertEquals(0, CacheSizes.parseSize(""));
    }

    @Test
    void detectsPlausibleSizesAndBlocksFromThem() {
        CacheSizes c = CacheSizes.detect();
        assertTrue(c.l1d() >= 4096 && c.l2() >= c.l1d() && c.l3() > 0, c.toString());
        // the GEMM blocks must fit the register tile and stay whole micro-panels
        assertTrue(GemmKernel.KC >= 16 && GemmKernel.MC % GemmKernel.MR == 0 && GemmKernel.NC % GemmKernel.NR == 0,
                "KC=" + GemmKernel.KC + " MC=" + GemmKernel.MC + " NC=" + GemmKernel.NC);
    }
}
