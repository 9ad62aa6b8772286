package io.jseek.engine;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * DeepSeek-V3.2's prompt format against DeepSeek's own encoder ({@code encoding/encoding_dsv32.py} of the
 * V3.2 release): its published example (docs/deepseek.md §8.6) and a function-calling turn written out by
 * its rules. BOS is the tokenizer's, so it is not in the rendered text.
 */
class DeepSeekV32FormatTest {
    private static final String U = "<｜User｜>";
    private static final String A = "<｜Assistant｜>";
    private static final String EOS = "<｜end▁of▁sentence｜>";

    @Test
    void theReleasesExampleInThinkingMode() {
        List<ChatMessage> m = List.of(ChatMessage.user("hello"), ChatMessage.assistant("Hello! I am DeepSeek."),
                ChatMessage.user("1+1=?"));
        String text = ChatTemplate.DEEPSEEK32.render(m, true) + ChatTemplate.DEEPSEEK32.replyOpener(true);
        assertEquals(U + "hello" + A + "</think>Hello! I am DeepSeek." + EOS + U + "1+1=?" + A + "<think>", text);
    }

    @Test
    void chatModeClosesTheThinkingAtOnce() {
        List<ChatMessage> m = List.of(ChatMessage.system("Be brief."), ChatMessage.user("hi"));
        assertEquals("Be brief." + U + "hi" + A + "</think>",
                ChatTemplate.DEEPSEEK32.render(m, true) + ChatTemplate.DEEPSEEK32.replyOpener(false));
    }

    /** Earlier reasoning is dropped; two results of one call turn form one block; the reply follows it. */
    @Test
    void functionResultsFollowTheCall() {
        String call = "\n\n<｜DSML｜function_calls>\n<｜DSML｜invoke name=\"f\">\n</｜DSML｜invoke>\n</｜DSML｜function_calls>";
        List<ChatMessage> m = List.of(ChatMessage.user("q"), ChatMessage.assistant("<think>x</think>Let me look." + call),
                ChatMessage.tool("r1"), ChatMessage.tool("r2"));
        assertEquals(U + "q" + A + "</think>Let me look." + call + EOS
                + "\n\n<function_results>\n<result>r1</result>\n<result>r2</result>\n</function_results>\n\n<think>",
                ChatTemplate.DEEPSEEK32.render(m, true) + ChatTemplate.DEEPSEEK32.replyOpener(true));
        // Not the end of the prompt: the results' turn is closed like a user turn.
        List<ChatMessage> more = new java.util.ArrayList<>(m);
        more.add(ChatMessage.assistant("Done."));
        assertEquals(true, ChatTemplate.DEEPSEEK32.render(more, false)
                .endsWith("</function_results>\n\n</think>Done." + EOS));
    }

    @Test
    void aDsmlTemplateIsRecognised() {
        assertEquals(ChatTemplate.DEEPSEEK32, ChatTemplate.detect("{% set dsml_token = '｜DSML｜' %}" + U + A));
        assertEquals(ChatTemplate.DEEPSEEK3, ChatTemplate.detect("{{ '" + U + "' }}{{ '" + A + "' }}"));
    }
}
