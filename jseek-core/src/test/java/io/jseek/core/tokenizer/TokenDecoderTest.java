package io.jseek.core.tokenizer;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.jseek.core.TestData;
import io.jseek.core.gguf.GgufFile;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

class TokenDecoderTest {
    private static Tokenizer tokenizer() {
        try (GgufFile f = GgufFile.open(TestData.file("ds2lite-f32.gguf"))) {
            return Tokenizer.fromGguf(f.metadata());
        }
    }

    @Test
    void holdsBytesUntilTheCharacterIsComplete() {
        Tokenizer t = tokenizer();
        int[] ids = t.encode("😀", false, false);
        assertTrue(ids.length >= 2, "the test vocabulary spells this emoji in pieces of its 4 bytes");
        TokenDecoder d = t.streamingDecoder(false);
        List<String> parts = new ArrayList<>();
        for (int id : ids) {
            parts.add(d.push(id));
        }
        assertEquals("😀", parts.getLast());
        assertTrue(parts.subList(0, parts.size() - 1).stream().allMatch(String::isEmpty), parts.toString());
        assertEquals("", d.flush());
    }

    @Test
    void aCharacterThatNeverCompletesBecomesAReplacementCharacter() {
        Tokenizer t = tokenizer();
        int[] emoji = t.encode("😀", false, false);
        TokenDecoder d = t.streamingDecoder(false);
        assertEquals("", d.push(emoji[0]));
        assertEquals("", d.push(emoji[1]));
        String rest = d.push(t.encode("a", false, false)[0]) + d.flush();
        assertTrue(rest.startsWith("\uFFFD") && rest.endsWith("a"), rest);
    }

    @Test
    void controlTokensRenderOnlyOnRequest() {
        Tokenizer t = tokenizer();
        int user = t.id("<｜User｜>");
        int think = t.id("<think>");
        assertEquals("", t.streamingDecoder(false).push(user));
        assertEquals("<｜User｜>", t.streamingDecoder(true).push(user));
        assertEquals("<think>", t.streamingDecoder(false).push(think), "user-defined tokens are text");
    }
}
