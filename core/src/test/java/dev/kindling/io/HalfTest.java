package dev.kindling.io;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

class HalfTest {
    private static short bf16(float f) {
        return Half.floatToBf16(f);
    }

    private static short f16(float f) {
        return Half.floatToF16(f);
    }

    @Test
    void bf16KnownValues() {
        assertEquals((short) 0x3F80, bf16(1.0f));
        assertEquals((short) 0xC020, bf16(-2.5f));
        assertEquals((short) 0x0000, bf16(0.0f));
        assertEquals((short) 0x8000, bf16(-0.0f));
        assertEquals((short) 0x3DCD, bf16(0.1f)); // 0x3DCCCCCD rounds up
        assertEquals((short) 0x4780, bf16(65504f)); // 65504 -> 65536 in bf16 (7 mantissa bits)
        assertEquals((short) 0x7F80, bf16(Float.POSITIVE_INFINITY));
        assertEquals((short) 0xFF80, bf16(Float.NEGATIVE_INFINITY));
        assertEquals((short) 0x7F7F, bf16(Float.intBitsToFloat(0x7F7F7FFF))); // below the tie: stays finite
        assertEquals((short) 0x7F80, bf16(Float.MAX_VALUE)); // rounds past the largest bf16 to infinity
        assertEquals(1.0f, Half.bf16ToFloat((short) 0x3F80));
        assertEquals(-2.5f, Half.bf16ToFloat((short) 0xC020));
        assertEquals(Float.NEGATIVE_INFINITY, Half.bf16ToFloat((short) 0xFF80));
    }

    @Test
    void bf16RoundsTiesToEven() {
        assertEquals((short) 0x3F80, bf16(Float.intBitsToFloat(0x3F808000))); // tie, kept part even: down
        assertEquals((short) 0x3F82, bf16(Float.intBitsToFloat(0x3F818000))); // tie, kept part odd: up
        assertEquals((short) 0x3F81, bf16(Float.intBitsToFloat(0x3F808001))); // above the tie: up
        assertEquals((short) 0x3F80, bf16(Float.intBitsToFloat(0x3F807FFF))); // below the tie: down
    }

    @Test
    void bf16SubnormalsAndNaN() {
        float smallest = Float.intBitsToFloat(0x00010000); // 2^-133, the smallest bf16 subnormal
        assertEquals((short) 0x0001, bf16(smallest));
        assertEquals(smallest, Half.bf16ToFloat((short) 0x0001));
        assertEquals((short) 0x0000, bf16(Float.intBitsToFloat(0x00008000))); // half of it: tie to even (0)
        assertEquals((short) 0x0002, bf16(Float.intBitsToFloat(0x00018000))); // 1.5x: tie to even (2)
        assertEquals((short) 0x0080, bf16(Float.intBitsToFloat(0x007FFFFF))); // largest float subnormal -> normal
        assertEquals((short) 0x7FC0, bf16(Float.NaN));
        // A NaN whose payload sits only in the low bits must not truncate to infinity.
        short nan = bf16(Float.intBitsToFloat(0x7F800001));
        assertTrue(Float.isNaN(Half.bf16ToFloat(nan)));
        assertTrue(Float.isNaN(Half.bf16ToFloat(bf16(Float.intBitsToFloat(0xFF800001)))));
        assertTrue(Float.isNaN(Half.bf16ToFloat((short) 0xFFFF))); // PyTorch's vectorised NaN encoding
    }

    @Test
    void bf16RoundTripsEveryPattern() {
        for (int b = 0; b < 0x10000; b++) {
            float f = Half.bf16ToFloat((short) b);
            if (!Float.isNaN(f)) assertEquals((short) b, bf16(f));
        }
    }

    @Test
    void f16KnownValues() {
        assertEquals((short) 0x3C00, f16(1.0f));
        assertEquals((short) 0xC100, f16(-2.5f));
        assertEquals((short) 0x7BFF, f16(65504f)); // largest finite
        assertEquals((short) 0x7BFF, f16(65519f)); // below the tie
        assertEquals((short) 0x7C00, f16(65520f)); // the tie rounds to even: infinity
        assertEquals((short) 0x7C00, f16(1e6f));
        assertEquals((short) 0xFC00, f16(Float.NEGATIVE_INFINITY));
        assertEquals((short) 0x1419, f16(0.001f));
        assertEquals(65504f, Half.f16ToFloat((short) 0x7BFF));
        assertEquals(-2.5f, Half.f16ToFloat((short) 0xC100));
        assertEquals(Float.POSITIVE_INFINITY, Half.f16ToFloat((short) 0x7C00));
    }

    @Test
    void f16SubnormalsTiesAndNaN() {
        float smallest = (float) Math.scalb(1.0, -24);
        assertEquals((short) 0x0001, f16(smallest));
        assertEquals(smallest, Half.f16ToFloat((short) 0x0001));
        assertEquals((short) 0x0000, f16((float) Math.scalb(1.0, -25))); // tie between 0 and 2^-24: even (0)
        assertEquals((short) 0x0002, f16((float) Math.scalb(3.0, -25))); // tie between 1 and 2 ulps: even (2)
        assertEquals((short) 0x0001, f16((float) Math.scalb(3.0, -26))); // 0.75 ulp: up
        assertEquals((short) 0x3C00, f16(Float.intBitsToFloat(0x3F801000))); // 1 + 2^-11: tie, down to even
        assertEquals((short) 0x3C02, f16(Float.intBitsToFloat(0x3F803000))); // 1 + 3*2^-11: tie, up to even
        assertEquals((short) 0x7E00, f16(Float.NaN));
        assertTrue(Float.isNaN(Half.f16ToFloat((short) 0x7E00)));
        for (int b = 0; b < 0x10000; b++) {
            float f = Half.f16ToFloat((short) b);
            if (!Float.isNaN(f)) assertEquals((short) b, f16(f));
        }
    }
}
