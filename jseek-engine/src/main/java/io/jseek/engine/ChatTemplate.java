package io.jseek.engine;

import java.util.List;

/**
 * Built-in chat formats, recognised from the model's {@code tokenizer.chat_template} the way llama.cpp
 * recognises them (by marker substrings; the Jinja template itself is not run), and rendered as
 * llama.cpp's {@code llama_chat_apply_template} renders them. The text carries no BOS: the tokenizer adds
 * it.
 */
public enum ChatTemplate implements ChatFormat {
    /** DeepSeek-V3 / R1 and the R1 distills: {@code system\n\n<｜User｜>u<｜Assistant｜>a<｜end▁of▁sentence｜>}. */
    DEEPSEEK3,
    /** DeepSeek-V2 / V2-Lite: {@code system\n\nUser: u\n\nAssistant: a<｜end▁of▁sentence｜>}. */
    DEEPSEEK2,
    /**
     * DeepSeek-V3.2 (docs/deepseek.md §8.6, as DeepSeek's Python encoder {@code encoding_dsv32.py} writes it;
     * it ships no Jinja template): as V3, but every earlier assistant turn opens with {@code </think>}
     * (earlier reasoning dropped), function results follow the call as
     * {@code <function_results><result>r</result></function_results>}, and the reply opens with {@code <think>}
     * (thinking) or {@code </think>} (chat). Function calls are DSML markup.
     */
    DEEPSEEK32,
    /** ChatML (Qwen2 instruct): {@code <|im_start|>role\ncontent<|im_end|>\n}. */
    CHATML,
    /** Llama 3: {@code <|start_header_id|>role<|end_header_id|>\n\ncontent<|eot_id|>}. */
    LLAMA3;

    private static final String USER = "<｜User｜>";
    private static final String ASSISTANT = "<｜Assistant｜>";
    private static final String EOS = "<｜end▁of▁sentence｜>";

    /** The built-in format a Jinja chat template stands for, or null if it is none of them. */
    public static ChatTemplate detect(String jinja) {
        if (jinja == null) {
            return null;
        }
        if (jinja.contains("DSML")) {
            return DEEPSEEK32;
        }
        if (jinja.contains(USER) && jinja.contains(ASSISTANT)) {
            return DEEPSEEK3;
        }
        if (jinja.contains("'Assistant: ' + message['content'] + eos_token")) {
            return DEEPSEEK2;
        }
        if (jinja.contains("<|im_start|>")) {
            return CHATML;
        }
        if (jinja.contains("<|start_header_id|>")) {
            return LLAMA3;
        }
        return null;
    }

    @Override
    public boolean isComplete() {
        return false;
    }

    /**
     * What the reply opens with after {@link #render}: R1's {@code <think>\n} where the model reasons;
     * V3.2's {@code <think>} or, in chat mode, {@code </think>}.
     */
    public String replyOpener(boolean reasoning) {
        if (this == DEEPSEEK32) {
            return reasoning ? THINK : THINK_END;
        }
        return reasoning ? THINK + "\n" : "";
    }

    private static final String THINK = "<think>";
    private static final String THINK_END = "</think>";

    /**
     * V3.2, in order: system text as is; a user turn opens the assistant's, {@code <｜User｜>u<｜Assistant｜>},
     * closed at once with {@code </think>} unless the reply follows (then {@link #replyOpener} opens it);
     * an assistant turn is its answer (earlier reasoning dropped) and EOS; consecutive function results form one
     * {@code <function_results>} block, after which the assistant continues as after a user turn. (In thinking
     * mode DeepSeek's encoder keeps the reasoning of assistant turns after the last user turn; chat messages
     * here carry none, so those turns open with {@code </think>} too.)
     */
    private static void renderV32(List<ChatMessage> messages, boolean addAssistant, StringBuilder sb) {
        for (int i = 0; i < messages.size(); i++) {
            ChatMessage m = messages.get(i);
            boolean replyFollows = addAssistant && i == messages.size() - 1;
            switch (m.role()) {
                case "system" -> sb.append(m.content());
                case "user" -> sb.append(USER).append(m.content()).append(ASSISTANT).append(replyFollows ? "" : THINK_END);
                case "assistant" -> {
                    String c = m.content();
                    int end = c.lastIndexOf(THINK_END);
                    sb.append(end < 0 ? c : c.substring(end + THINK_END.length())).append(EOS);
                }
                default -> {
                    boolean first = i == 0 || !messages.get(i - 1).role().equals("tool");
                    boolean last = i == messages.size() - 1 || !messages.get(i + 1).role().equals("tool");
                    sb.append(first ? "\n\n<function_results>" : "").append("\n<result>").append(m.content()).append("</result>");
                    if (last) {
                        sb.append("\n</function_results>\n\n").append(replyFollows ? "" : THINK_END);
                    }
                }
            }
        }
    }

    /** Renders the conversation; with {@code addAssistant} it ends ready for the assistant's reply. */
    @Override
    public String render(List<ChatMessage> messages, boolean addAssistant) {
        StringBuilder sb = new StringBuilder();
        switch (this) {
            case DEEPSEEK3 -> {
                for (ChatMessage m : messages) {
                    switch (m.role()) {
                        case "system" -> sb.append(m.content()).append("\n\n");
                        case "user", "tool" -> sb.append(USER).append(m.content());
                        default -> sb.append(ASSISTANT).append(m.content()).append(EOS);
                    }
                }
                if (addAssistant) {
                    sb.append(ASSISTANT);
                }
            }
            case DEEPSEEK32 -> renderV32(messages, addAssistant, sb);
            case DEEPSEEK2 -> {
                for (ChatMessage m : messages) {
                    switch (m.role()) {
                        case "system" -> sb.append(m.content()).append("\n\n");
                        case "user", "tool" -> sb.append("User: ").append(m.content()).append("\n\n");
                        default -> sb.append("Assistant: ").append(m.content()).append(EOS);
                    }
                }
                if (addAssistant) {
                    sb.append("Assistant:");
                }
            }
            case CHATML -> {
                for (ChatMessage m : messages) {
                    sb.append("<|im_start|>").append(m.role()).append('\n').append(m.content()).append("<|im_end|>\n");
                }
                if (addAssistant) {
                    sb.append("<|im_start|>assistant\n");
                }
            }
            case LLAMA3 -> {
                for (ChatMessage m : messages) {
                    sb.append("<|start_header_id|>").append(m.role()).append("<|end_header_id|>\n\n")
                            .append(m.content().strip()).append("<|eot_id|>");
                }
                if (addAssistant) {
                    sb.append("<|start_header_id|>assistant<|end_header_id|>\n\n");
                }
            }
        }
        return sb.toString();
    }
}
