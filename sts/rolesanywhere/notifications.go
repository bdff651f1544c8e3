package rolesanywhere

import (
	"context"
	"regexp"
	"slices"
)

// The notification events of a trust anchor, and the one channel.
const (
	eventCAExpiry  = "CA_CERTIFICATE_EXPIRY"
	eventEEExpiry  = "END_ENTITY_CERTIFICATE_EXPIRY"
	channelAll     = "ALL"
	defaultDaysOut = 45
)

// notificationSetting is a trust anchor's setting for one event (NotificationSetting
// in, NotificationSettingDetail out). The core stores them and answers them as AWS
// does; it sends no notification (AWS's channels are CloudWatch, EventBridge and the
// Health Dashboard).
type notificationSetting struct {
	Enabled      bool   `json:"enabled"`
	Event        string `json:"event"`
	Threshold    *int32 `json:"threshold,omitempty"`
	Channel      string `json:"channel,omitempty"`
	ConfiguredBy string `json:"configuredBy,omitempty"`
}

// defaultNotifications are a new trust anchor's settings: both events, enabled, 45
// days ahead, on all channels, configured by Roles Anywhere itself.
func defaultNotifications() []notificationSetting {
	out := make([]notificationSetting, 0, 2)
	for _, ev := range []string{eventCAExpiry, eventEEExpiry} {
		out = append(out, defaultNotification(ev))
	}
	return out
}

func defaultNotification(event string) notificationSetting {
	days := int32(defaultDaysOut)
	return notificationSetting{Enabled: true, Event: event, Threshold: &days, Channel: channelAll, ConfiguredBy: ServicePrincipal}
}

// checkNotification checks an event and channel ("" is ALL) and returns the channel.
func checkNotification(event, channel string) (string, error) {
	if event != eventCAExpiry && event != eventEEExpiry {
		return "", invalid("event must be CA_CERTIFICATE_EXPIRY or END_ENTITY_CERTIFICATE_EXPIRY.")
	}
	if channel != "" && channel != channelAll {
		return "", invalid("channel must be ALL.")
	}
	return channelAll, nil
}

// applyNotifications returns cur with the settings given put in place of the ones
// of the same event and channel, configured by account acct.
func applyNotifications(cur, set []notificationSetting, acct string) ([]notificationSetting, error) {
	if len(cur) == 0 {
		cur = defaultNotifications()
	}
	if len(set) > 50 {
		return nil, invalid("notificationSettings may hold at most 50 settings.")
	}
	for _, s := range set {
		ch, err := checkNotification(s.Event, s.Channel)
		if err != nil {
			return nil, err
		}
		if s.Threshold != nil && (*s.Threshold < 1 || *s.Threshold > 360) {
			return nil, invalid("threshold must be between 1 and 360.")
		}
		s.Channel, s.ConfiguredBy = ch, acct
		i := slices.IndexFunc(cur, func(c notificationSetting) bool { return c.Event == s.Event && c.Channel == ch })
		switch {
		case i < 0:
			cur = append(cur, s)
		case s.Threshold == nil:
			s.Threshold = cur[i].Threshold
			cur[i] = s
		default:
			cur[i] = s
		}
	}
	return cur, nil
}

// notificationKey is a setting to reset.
type notificationKey struct {
	Event   string `json:"event"`
	Channel string `json:"channel,omitempty"`
}

func (a *API) putNotificationSettings(ctx context.Context, in *input) (any, error) {
	var set []notificationSetting
	if ok, err := in.decode("notificationSettings", &set); err != nil || !ok {
		return nil, firstErr(err, invalid("notificationSettings is required."))
	}
	return a.editNotifications(ctx, in, func(cur []notificationSetting) ([]notificationSetting, error) {
		return applyNotifications(cur, set, in.call.AccountID())
	})
}

func (a *API) resetNotificationSettings(ctx context.Context, in *input) (any, error) {
	var keys []notificationKey
	if ok, err := in.decode("notificationSettingKeys", &keys); err != nil || !ok {
		return nil, firstErr(err, invalid("notificationSettingKeys is required."))
	}
	return a.editNotifications(ctx, in, func(cur []notificationSetting) ([]notificationSetting, error) {
		if len(cur) == 0 {
			cur = defaultNotifications()
		}
		for _, k := range keys {
			ch, err := checkNotification(k.Event, k.Channel)
			if err != nil {
				return nil, err
			}
			for i := range cur {
				if cur[i].Event == k.Event && cur[i].Channel == ch {
					cur[i] = defaultNotification(k.Event)
				}
			}
		}
		return cur, nil
	})
}

// uuidRE is the model's Uuid.
var uuidRE = regexp.MustCompile(`^[a-f0-9]{8}-([a-z0-9]{4}-){3}[a-z0-9]{12}$`)

// editNotifications changes the settings of the trust anchor the body's trustAnchorId
// names and answers the anchor.
func (a *API) editNotifications(ctx context.Context, in *input, fn func([]notificationSetting) ([]notificationSetting, error)) (any, error) {
	id, _, err := in.str("trustAnchorId")
	if err != nil {
		return nil, err
	}
	if !uuidRE.MatchString(id) {
		return nil, invalid("trustAnchorId must be a trust anchor's id.")
	}
	if err := a.authorize(in, in.arn(kindAnchor, id)); err != nil {
		return nil, err
	}
	return edit(ctx, in, anchors, id, func(e *anchor) error {
		ns, err := fn(e.NotificationSettings)
		if err != nil {
			return err
		}
		e.NotificationSettings, e.UpdatedAt = ns, in.call.Now.UTC()
		return nil
	})
}
