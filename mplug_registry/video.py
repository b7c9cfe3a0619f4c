"""What is wrong with a video file, told in a few words (datasets and ``infer`` report it)."""
import os


def video_problem(path, decode=True):
    """Why ``path`` is not a decodable video, or None: missing, empty, unreadable, no video stream,
    no frames, or (``decode=True``: every frame is decoded) truncated. Without ``decode`` only the
    first frame is decoded (a cheap check)."""
    if not os.path.isfile(path):
        return 'missing'
    if os.path.getsize(path) == 0:
        return 'empty file'
    import av
    try:
        with av.open(path) as container:
            if not container.streams.video:
                return 'no video stream'
            stream = container.streams.video[0]
            declared, count = stream.frames, 0
            try:
                for _ in container.decode(stream):
                    count += 1
                    if not decode:
                        break
            except (av.error.FFmpegError, OSError, ValueError) as err:
                return f'truncated or corrupt after {count} frame(s) ({err})'
    except (av.error.FFmpegError, OSError, ValueError, UnicodeDecodeError) as err:
        return f'unreadable ({err})'
    if count == 0:
        return 'no video frames'
    if decode and declared and count < declared:
        return f'truncated: {count} of its {declared} frames decode'
    return None
