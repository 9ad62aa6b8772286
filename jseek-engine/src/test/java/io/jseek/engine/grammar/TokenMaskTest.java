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
}
