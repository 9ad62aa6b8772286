package io.jseek.core.tensor;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.util.HashMap;
import java.util.Map;

/**
 * One lattice grid of ggml's i-quant types: {@code entries} points of {@code width} values each (8 for the
 * IQ1 and IQ2 types, 4 for IQ3), stored in a block as an index. The points are format constants recorded in
 * the resource {@code iq-grids.txt} (see its header for where they come from and its form).
 */
final class IqGrid {
    static final IqGrid IQ2_XXS;
    static final IqGrid IQ2_XS;
    static final IqGrid IQ2_S;
    static final IqGrid IQ3_XXS;
    static final IqGrid IQ3_S;
    /** Shared by IQ1_S and IQ1_M: values −1, 0, +1. */
    static final IqGrid IQ1;

    /**
     * SIGNS[8·b + j] = −1 where bit j of the sign byte b is set, else +1: a group of 8 values' signs as one
     * vector load.
     */
    static final float[] SIGNS = new float[256 * 8];

    /** {@link #evenSigns} of 0..127, times 8: the offset of the sign byte's row in {@link #SIGNS}. */
    static final int[] EVEN_SIGN_ROWS = new int[128];
    private static final int[] EVEN_SIGNS = new int[128];

    static {
        for (int b = 0; b < 256; b++) {
            for (int j = 0; j < 8; j++) {
                SIGNS[8 * b + j] = (b >> j & 1) != 0 ? -1f : 1f;
            }
        }
        for (int i = 0; i < 128; i++) {
            EVEN_SIGNS[i] = i | (Integer.bitCount(i) & 1) << 7;
            EVEN_SIGN_ROWS[i] = 8 * EVEN_SIGNS[i];
        }
        Map<String, IqGrid> grids = read("iq-grids.txt");
        IQ2_XXS = grids.get("iq2xxs_grid");
        IQ2_XS = grids.get("iq2xs_grid");
        IQ2_S = grids.get("iq2s_grid");
        IQ3_XXS = grids.get("iq3xxs_grid");
        IQ3_S = grids.get("iq3s_grid");
        IQ1 = grids.get("iq1s_grid");
    }

    /** Values per point. */
    final int width;
    /** Point e's values at {@code values[width·e ..]}. */
    final float[] values;

    private IqGrid(int width, float[] values) {
        this.width = width;
        this.values = values;
    }

    /**
     * The sign byte of the IQ2_XXS, IQ2_XS and IQ3_XXS types, which store only 7 of a group's 8 sign bits:
     * the eighth makes the number of minus signs even (ggml's {@code ksigns_iq2xs}).
     */
    static int evenSigns(int seven) {
        return EVEN_SIGNS[seven];
    }


    private static Map<String, IqGrid> read(String resource) {
        Map<String, IqGrid> grids = new HashMap<>();
        try (InputStream in = IqGrid.class.getResourceAsStream(resource)) {
            if (in == null) {
                throw new IllegalStateException("missing resource " + resource);
            }
            BufferedReader r = new BufferedReader(new InputStreamReader(in, StandardCharsets.US_ASCII));
            String line;
            while ((line = r.readLine()) != null) {
                if (line.isEmpty() || line.startsWith("#")) {
                    continue;
                }
                String[] head = line.split(" ");
                int entries = Integer.parseInt(head[1]);
                int width = Integer.parseInt(head[2]);
                int bits = Integer.parseInt(head[3]);
                float[] levels = new float[head.length - 4];
                for (int i = 0; i < levels.length; i++) {
                    levels[i] = Integer.parseInt(head[4 + i]);
                }
                float[] values = new float[entries * width];
                for (int e = 0; e < entries; ) {
                    for (String code : r.readLine().split(" ")) {
                        int c = Integer.parseInt(code, 16);
                        for (int j = 0; j < width; j++) {
                            values[width * e + j] = levels[c >> bits * j & (1 << bits) - 1];
                        }
                        e++;
                    }
                }
                grids.put(head[0], new IqGrid(width, values));
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return grids;
    }
}
