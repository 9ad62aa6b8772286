package io.jseek.engine.grammar;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.jseek.core.gguf.GgufFile;
import io.jseek.core.tokenizer.Tokenizer;
import io.jseek.engine.JsonConstraint;
import io.jseek.engine.OutputConstraint;
import java.nio.file.Path;
import java.util.Random;
import org.junit.jupiter.api.Test;

/** The sorted-prefix walk gives the same mask as feeding every token on its own, in every state of a random walk. */
class TokenMaskTest {
    private static final Path DATA = Path.of(System.getProperty("jseek.testdata", "../testdata"));

    private static boolean[] naive(Tokenizer t, OutputConstraint.Matcher m) {
        boolean[] out = new boolean[t.pieces().length];
        for (int id = 0; id < out.length; id++) {
            byte[] b = t.pieces()[id];
            if (t.isEndOfGeneration(id)) {
                out[id] = m.complete();
            } else if (b.length > 0 && id != t.id("<think>") && id != t.id("</think>")) {
                OutputConstraint.Matcher c = m.copy();
                out[id] = c.feed(b);
            }
        }
        return out;
    }

    @Test
    void sameAsTokenByToken() {
        for (String model : new String[] {"r1llama-f32.gguf", "r1qwen-f32.gguf", "ds3-f32.gguf"}) {
            Tokenizer t;
            try (GgufFile f = GgufFile.open(DATA.resolve(model))) {
                t = Tokenizer.fromGguf(f.metadata());
            }
            TokenMask mask = TokenMask.of(t);
            OutputConstraint[] constraints = {
                JsonSchemaGrammar.constraint("{\"type\":\"object\",\"properties\":{\"a\":{\"type\":\"string\",\"maxLength\":5},"
                        + "\"b\":{\"type\":\"array\",\"items\":{\"type\":\"integer\",\"minimum\":-20,\"maximum\":300}}},"
                        + "\"required\":[\"a\"]}"),
                GrammarConstraint.gbnf("root ::= (\"yes\" | \"no\" | [α-ω]+) \" \"? [0-9]*"),
                JsonConstraint.OBJECT,
                new TriggeredConstraint("{\"", JsonSchemaGrammar.constraint("{\"type\":\"object\",\"properties\":"
                        + "{\"a\":{\"type\":\"integer\",\"minimum\":0,\"maximum\":99}},\"required\":[\"a\"]}")),
            };
            Random r = new Random(3);
            for (OutputConstraint c : constraints) {
                OutputConstraint.Matcher m = c.start();
                TokenMask.Scratch s = mask.scratch(m);
                boolean[] got = new boolean[t.pieces().length];
                for (int step = 0; step < 40; step++) {
                    int n = mask.allowed(m, s, got);
                    boolean[] want = naive(t, m);
                    assertArrayEquals(want, got, model + " " + c + " step " + step);
                    if (n == 0) {
                        break;
                    }
                    // Walk on with a random allowed token that is not end of generation, if there is one.
                    int pick = -1;
                    for (int tries = 0; tries < 10000 && pick < 0; tries++) {
                        int id = r.nextInt(got.length);
                        if (got[id] && !t.isEndOfGeneration(id)) {
                            pick = id;
                        }
                    }
                    if (pick < 0) {
                        break;
                    }
                    assertTrue(m.feed(t.pieces()[pick]));
                }
            }
        }
    }

    /**
     * A constrained answer never reaches a state no token continues: random walks (uniform over the allowed tokens,
     * as a random-weight model samples) through strings of every kind, in byte-level vocabularies where single-byte
     * tokens start characters that may not be finishable (ED A0 begins only surrogates; F0 only code points a
     * BMP-only string refuses). Such a dead end once cut an AI SDK answer inside its string (1 in 400 requests).
     */
    @Test
    void noDeadEnds() {
        OutputConstraint[] constraints = {
            JsonSchemaGrammar.constraint("{\"type\":\"object\",\"properties\":{\"name\":{\"type\":\"string\",\"maxLength\":12},"
                    + "\"age\":{\"type\":\"integer\",\"minimum\":0,\"maximum\":120}},\"required\":[\"name\",\"age\"],"
                    + "\"additionalProperties\":false}"),
            JsonSchemaGrammar.constraint("{\"type\":\"array\",\"items\":{\"type\":\"string\"},\"maxItems\":2}"),
            GrammarConstraint.gbnf("root ::= [^a-z\\x00-\\x1F]{1,6} \".\""),
        };
        for (String model : new String[] {"r1qwen-q8_0.gguf", "ds3-f32.gguf"}) {
            Tokenizer t;
            try (GgufFile f = GgufFile.open(DATA.resolve(model))) {
                t = Tokenizer.fromGguf(f.metadata());
            }
            TokenMask mask = TokenMask.of(t);
            Random r = new Random(1);
            boolean[] got = new boolean[t.pieces().length];
            for (OutputConstraint c : constraints) {
                for (int walk = 0; walk < 300; walk++) {
                    OutputConstraint.Matcher m = c.start();
                    TokenMask.Scratch s = mask.scratch(m);
                    java.io.ByteArrayOutputStream so = new java.io.ByteArrayOutputStream();
                    for (int step = 0; step < 100 && !m.ended(); step++) {
                        int n = mask.allowed(m, s, got);
                        assertTrue(n > 0, () -> model + " " + c + ": no token continues "
                                + java.util.HexFormat.of().formatHex(so.toByteArray()));
                        int k = r.nextInt(n);
                        int id = 0;
                        while (!got[id] || k-- > 0) {
                            id++;
                        }
                        if (t.isEndOfGeneration(id)) {
                            break;
                        }
                        so.writeBytes(t.pieces()[id]);
                        m.feed(t.pieces()[id]);
                    }
                }
            }
        }
    }
}
