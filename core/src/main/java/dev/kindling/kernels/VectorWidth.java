package dev.kindling.kernels;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorShape;
import jdk.incubator.vector.VectorSpecies;

/**
 * The float vector species kernels compute with: the CPU's preferred width, or the one forced with
 * {@code -Dkindling.vector.bits=128|256|512} (to reproduce another machine's code path or to benchmark widths).
 */
final class VectorWidth {
    static final String PROPERTY = "kindling.vector.bits";

    private VectorWidth() {}

    /** The species chosen by {@link #PROPERTY}, or {@link FloatVector#SPECIES_PREFERRED} when it is unset. */
    static VectorSpecies<Float> floatSpecies() {
        String v = System.getProperty(PROPERTY);
        if (v == null || v.isBlank()) return FloatVector.SPECIES_PREFERRED;
        try {
            return floatSpecies(Integer.parseInt(v.trim()));
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException(PROPERTY + " must be 128, 256 or 512, got '" + v + "'");
        }
    }

    /** The float species of {@code bits} (128, 256 or 512). */
    static VectorSpecies<Float> floatSpecies(int bits) {
        if (bits != 128 && bits != 256 && bits != 512)
            throw new IllegalArgumentException(PROPERTY + " must be 128, 256 or 512, got " + bits);
        return VectorSpecies.of(float.class, VectorShape.forBitSize(bits));
    }
}
