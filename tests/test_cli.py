import cv2
import numpy as np

from tests.conftest import FACES, load_face
from tryon.cli import main


def test_render_still(tmp_path, still_tracker):
    output = tmp_path / "out.jpg"
    assert main(["render", "--product", "round", str(FACES / "001_neutral.jpg"), "-o", str(output)]) == 0
    before, after = load_face("001_neutral.jpg"), cv2.imread(str(output))
    assert after.shape == before.shape
    face = still_tracker.detect(before).primary
    x, y = face.iris_centres.mean(axis=0).astype(int)
    near_eyes = np.abs(after.astype(int) - before)[y - 60 : y + 60, x - 120 : x + 120].mean()
    far_away = np.abs(after.astype(int) - before)[:100, :100].mean()
    assert near_eyes > 5 and far_away < 2  # glasses around the eyes (true size: about 7), nothing elsewhere


def test_render_a_look_as_png(tmp_path):
    output = tmp_path / "out.png"
    assert main(["render", "-p", "aviator", "-p", "cat-eye", str(FACES / "061_neutral.jpg"), "-o", str(output)]) == 0
    assert cv2.imread(str(output)) is not None


def test_render_video_keeps_every_frame(tmp_path):
    source, output = tmp_path / "in.mp4", tmp_path / "out.mp4"
    frame = cv2.resize(load_face("009_neutral.jpg"), (320, 320))
    writer = cv2.VideoWriter(str(source), cv2.VideoWriter_fourcc(*"mp4v"), 10, (320, 320))
    for shift in range(12):
        writer.write(np.roll(frame, shift * 2, axis=1))
    writer.release()
    assert main(["render", "--product", "rectangular", str(source), "-o", str(output)]) == 0
    capture = cv2.VideoCapture(str(output))
    assert int(capture.get(cv2.CAP_PROP_FRAME_COUNT)) == 12


def test_errors_are_messages_not_tracebacks(tmp_path, capsys):
    assert main(["render", "--product", "nope", str(FACES / "001_neutral.jpg"), "-o", str(tmp_path / "o.jpg")]) == 1
    assert "unknown product 'nope'" in capsys.readouterr().err
    bogus = tmp_path / "bogus.jpg"
    bogus.write_text("not a photo")
    assert main(["render", "--product", "round", str(bogus), "-o", str(tmp_path / "o.jpg")]) == 1
    assert "not a JPEG" in capsys.readouterr().err
    assert main(["render", "--product", "round", str(FACES / "001_neutral.jpg"), "-o", str(tmp_path / "o.gif")]) == 1


def test_no_face_writes_the_photo_unchanged_and_says_so(tmp_path, capsys):
    blank = tmp_path / "blank.png"
    cv2.imwrite(str(blank), np.full((200, 300, 3), 180, np.uint8))
    assert main(["render", "--product", "round", str(blank), "-o", str(tmp_path / "o.png")]) == 0
    assert "no_face" in capsys.readouterr().err
    assert (cv2.imread(str(tmp_path / "o.png")) == 180).all()


def test_merchant_accounts_from_the_command_line(tmp_path, monkeypatch, capsys):
    from tryon.store.accounts import authenticate
    from tryon.store.database import Database

    monkeypatch.setenv("TRYON_DATA_DIR", str(tmp_path))
    assert main(["merchant", "create", "corner-shop", "--name", "Corner Shop"]) == 0
    first = capsys.readouterr().out.strip().splitlines()[-1]
    assert main(["merchant", "create", "corner-shop"]) == 1
    assert "exists already" in capsys.readouterr().err
    assert main(["merchant", "key", "corner-shop"]) == 0
    second = capsys.readouterr().out.strip().splitlines()[-1]
    database = Database(f"sqlite:///{tmp_path / 'tryon.db'}")
    assert first != second
    assert authenticate(database, first).name == "Corner Shop" and authenticate(database, second).slug == "corner-shop"
    assert main(["merchant", "key", "nobody"]) == 1


def test_creating_the_app_changes_no_data_until_prepare(tmp_path, monkeypatch, capsys):
    """Start-up work is explicit: an app alone writes nothing; `tryon prepare` migrates the database
    and seeds the demo store, and running it again changes nothing."""
    import tryon.web

    monkeypatch.setenv("TRYON_DATA_DIR", str(tmp_path))
    client = tryon.web.create_app(TESTING=True).test_client()
    assert [path for path in tmp_path.rglob("*") if path.is_file()] == []

    assert main(["prepare"]) == 0
    assert "demo store 'demo' created" in capsys.readouterr().out
    products = client.get("/api/v1/products").json["products"]
    assert {"round", "aviator", "ruby-matte", "evening"} <= {product["sku"] for product in products}
    blobs = sorted(tmp_path.glob("blobs/??/*"))
    assert len(blobs) >= 4  # the glasses' images

    assert main(["init-db"]) == main(["seed-demo"]) == main(["collect-blobs"]) == 0
    assert "demo store 'demo' already there" in capsys.readouterr().out
    assert sorted(tmp_path.glob("blobs/??/*")) == blobs
    assert client.get("/api/v1/products").json["products"] == products
